package dev.sahara.data;

import java.util.ArrayList;
import java.util.List;

/**
 * A strict RFC 4180 reader: fields separated by commas, records by CRLF or LF; a field may be quoted
 * with {@code "}, and then may hold commas, line breaks and doubled quotes ({@code ""} = one quote).
 * A leading UTF-8 byte order mark is dropped. Empty lines between records are skipped.
 * Problems are reported with the 1-based line number where they occur.
 */
final class Csv {
    /** One record and the line on which it starts. */
    record Row(int line, List<String> fields) {}

    /** A malformed file; the message starts with {@code line N:}. */
    static final class Malformed extends Exception {
        Malformed(int line, String problem) { super("line " + line + ": " + problem); }
    }

    private Csv() {}

    static List<Row> parse(String text) throws Malformed {
        int n = text.length();
        int i = text.startsWith("\uFEFF") ? 1 : 0;
        int line = 1;
        List<Row> rows = new ArrayList<>();
        while (i < n) {
            int rowLine = line;
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            boolean endOfRow = false;
            while (!endOfRow) {
                if (i < n && text.charAt(i) == '"') {
                    int quoteLine = line;
                    i++;
                    while (true) {
                        if (i >= n) throw new Malformed(quoteLine, "unterminated quoted field (the quote opened here is never closed)");
                        char c = text.charAt(i);
                        if (c == '"') {
                            if (i + 1 < n && text.charAt(i + 1) == '"') { field.append('"'); i += 2; continue; }
                            i++;
                            break;
                        }
                        if (c == '\n') line++;
                        field.append(c);
                        i++;
                    }
                    if (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r')
                        throw new Malformed(line, "unexpected character '" + text.charAt(i) + "' after a closing quote (a quote inside a quoted field must be doubled)");
                } else {
                    while (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                        field.append(text.charAt(i));
                        i++;
                    }
                }
                fields.add(field.toString());
                field.setLength(0);
                if (i >= n) {
                    endOfRow = true;
                } else if (text.charAt(i) == ',') {
                    i++;
                } else if (text.charAt(i) == '\r') {
                    if (i + 1 >= n || text.charAt(i + 1) != '\n') throw new Malformed(line, "bare carriage return outside a quoted field");
                    i += 2; line++; endOfRow = true;
                } else { // '\n'
                    i++; line++; endOfRow = true;
                }
            }
            if (fields.size() == 1 && fields.getFirst().isEmpty()) continue; // blank line
            rows.add(new Row(rowLine, List.copyOf(fields)));
        }
        return rows;
    }
}
