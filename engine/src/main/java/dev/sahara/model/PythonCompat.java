package dev.sahara.model;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.filter.TrimFilter;

import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What chat templates get from Python and transformers, and jinjava does differently: the {@code tojson} filter
 * (transformers' is {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)},
 * with Python's ", " and ": " separators; jinjava's is compact) and {@code strftime} formats.
 */
final class PythonCompat {
    private PythonCompat() {}

    /** {@code x | tojson}, {@code x | tojson(indent=4)}: Python's json.dumps output. */
    static final class ToJson implements Filter {
        @Override
        public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return dumps(var, args.length > 0 && args[0] != null ? Integer.parseInt(args[0].strip()) : null);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            return dumps(var, indent == null ? null : ((Number) (indent instanceof String t ? Integer.valueOf(t.strip()) : indent)).intValue());
        }
    }

    /**
     * jinja2's {@code x | items} (3.1): a mapping's (key, value) pairs, in order, for {@code for k, v in x | items};
     * nothing for an undefined value. Hermes' tool_use templates walk a tool's parameters with it; jinjava has no such filter.
     */
    static final class Items implements Filter {
        @Override
        public String getName() { return "items"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) return List.of();
            if (var instanceof Map<?, ?> m) return new ArrayList<>(m.entrySet());
            throw new IllegalArgumentException("Can only get item pairs from a mapping, not " + var.getClass().getSimpleName());
        }
    }

    /**
     * jinja2's {@code x | trim} of an undefined value is {@code ""} (str of Undefined); jinjava's is null, which a
     * following {@code +} writes as "null" (Hermes' tool_use template trims a parameter's missing description).
     */
    static final class Trim extends TrimFilter {
        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return var == null ? "" : super.filter(var, interpreter, args);
        }
    }

    /** json.dumps(x, ensure_ascii=False, indent=indent). */
    static String dumps(Object x, Integer indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, x, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object x, Integer indent, int depth) {
        switch (x) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case Number n -> sb.append(pythonFloat(n.doubleValue()));
            case CharSequence s -> string(sb, s.toString());
            case Map<?, ?> m -> container(sb, '{', '}', m.entrySet(), indent, depth, (e, d) -> {
                string(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                write(sb, e.getValue(), indent, d);
            });
            case Iterable<?> it -> container(sb, '[', ']', it, indent, depth, (e, d) -> write(sb, e, indent, d));
            case Object[] a -> container(sb, '[', ']', Arrays.asList(a), indent, depth, (e, d) -> write(sb, e, indent, d));
            default -> string(sb, x.toString());
        }
    }

    private interface Item<T> {
        void write(T item, int depth);
    }

    private static <T> void container(StringBuilder sb, char open, char close, Iterable<T> items, Integer indent, int depth, Item<T> item) {
        sb.append(open);
        boolean first = true;
        for (T t : items) {
            if (!first) sb.append(indent == null ? ", " : ",");
            if (indent != null) sb.append('\n').append(" ".repeat(indent * (depth + 1)));
            item.write(t, depth + 1);
            first = false;
        }
        if (!first && indent != null) sb.append('\n').append(" ".repeat(indent * depth));
        sb.append(close);
    }

    /** Python's repr of a float: 1.0, 0.5, 1e-05, inf as Infinity (json.dumps). */
    private static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return (long) d + ".0";
        String r = Double.toString(d);   // shortest round-trip digits, as Python's repr
        if (!r.contains("E")) return r;
        String mant = r.substring(0, r.indexOf('E')), exp = r.substring(r.indexOf('E') + 1);
        if (mant.endsWith(".0")) mant = mant.substring(0, mant.length() - 2);
        int e = Integer.parseInt(exp);
        if (e >= -4 && e < 16) return new BigDecimal(r).toPlainString();
        return mant + "e" + (e < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(e));
    }

    /** A JSON string as Python writes it with ensure_ascii=False: only quotes, backslashes and control characters escaped. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** Python's strftime for the directives chat templates use (%d %b %B %Y %y %m %A %a %j %H %M %S %p %e %%), C-locale names. */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format(Locale.ROOT, "%02d", t.getDayOfMonth()));
                case 'e' -> sb.append(String.format(Locale.ROOT, "%2d", t.getDayOfMonth()));
                case 'm' -> sb.append(String.format(Locale.ROOT, "%02d", t.getMonthValue()));
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format(Locale.ROOT, "%02d", t.getYear() % 100));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'j' -> sb.append(String.format(Locale.ROOT, "%03d", t.getDayOfYear()));
                case 'H' -> sb.append(String.format(Locale.ROOT, "%02d", t.getHour()));
                case 'I' -> sb.append(String.format(Locale.ROOT, "%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> sb.append(String.format(Locale.ROOT, "%02d", t.getMinute()));
                case 'S' -> sb.append(String.format(Locale.ROOT, "%02d", t.getSecond()));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }
}
