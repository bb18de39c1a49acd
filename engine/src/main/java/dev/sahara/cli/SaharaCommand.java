package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.attribution.Progress;
import dev.sahara.cli.options.OutputFolder;
import dev.sahara.cli.options.StatusLine;
import dev.sahara.report.EngineVersion;
import dev.sahara.report.Heatmap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;

import static java.nio.charset.StandardCharsets.UTF_8;

/** The top-level command: {@code java -jar engine.jar <command> ...}. One subcommand per file in this package. */
@Command(name = "engine.jar", mixinStandardHelpOptions = true, versionProvider = SaharaCommand.Version.class,
        description = "Sahara: finds the attention heads an aligned model's safety depends on.",
        subcommands = {AttributeCommand.class, ShipsCommand.class, SweepCommand.class, AsrCommand.class, GenerateCommand.class, LogitsCommand.class,
                InspectCommand.class, PromptCommand.class, SurgeryCommand.class, ShipsAsrCommand.class, CourseCorrectionCommand.class, HelpfulnessCommand.class,
                CompareCommand.class, MergeCommand.class, ConformanceCommand.class, DirectionCommand.class, HeadProjectionCommand.class})
public final class SaharaCommand implements Runnable {
    /** Exit code of every usage or input error. */
    public static final int EXIT_USAGE = 2;

    /** Told every progress update of the commands, after the stderr line: a test's way to watch a run (or stop it after n candidates). */
    private final Progress listener;

    private SaharaCommand(Progress listener) { this.listener = listener; }

    /** The listener of the command line {@code spec} runs in. */
    static Progress listener(CommandSpec spec) { return ((SaharaCommand) spec.root().userObject()).listener; }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "missing command: give one of "
                + String.join(", ", new CommandLine(this).getSubcommands().keySet()));
    }

    public static int run(String... args) {
        return newCommandLine(new PrintWriter(new OutputStreamWriter(System.out, UTF_8), true), new PrintWriter(new OutputStreamWriter(System.err, UTF_8), true))
                .execute(args);
    }

    /** A command line whose errors are one line on {@code err} and exit code 2. */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) { return newCommandLine(out, err, Progress.NONE); }

    /** {@link #newCommandLine(PrintWriter, PrintWriter)}, with {@code listener} told every progress update. */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err, Progress listener) {
        CommandLine cl = new CommandLine(new SaharaCommand(listener));
        for (CommandLine sub : cl.getSubcommands().values()) sub.getCommandSpec().mixinStandardHelpOptions(true); // --help, --version everywhere
        cl.registerConverter(Float.class, SaharaCommand::finiteFloat);
        cl.registerConverter(float.class, SaharaCommand::finiteFloat);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, args) -> {
            String message = ex.getMessage().startsWith("Error: ") ? ex.getMessage().substring("Error: ".length()) : ex.getMessage();   // picocli's own prefix
            err.println("error: " + message + " (see --help)");
            return EXIT_USAGE;
        });
        cl.setExecutionStrategy(parseResult -> {
            RunRecord.STARTED.set(System.nanoTime());
            try {
                return new CommandLine.RunLast().execute(parseResult);
            } finally {
                OutputFolder.releaseAll();   // the command's --out folder is free again, however it ended
                StatusLine.clear();
                Heatmap.resetScale();
            }
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof SaharaException) {
                err.println("error: " + ex.getMessage());
                return EXIT_USAGE;
            }
            throw ex;
        });
        return cl;
    }

    /** A float option's value; a number too large for a float is refused with the text given, not as "Infinity". */
    static Float finiteFloat(String text) {
        float f = Float.parseFloat(text.strip());
        if (Float.isInfinite(f) && !text.strip().matches("[+-]?(?i)(inf|infinity)")) {
            throw new CommandLine.TypeConversionException("'" + text + "' is too large for a float (at most 3.4e38)");
        }
        return f;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"sahara " + EngineVersion.version() + " (" + EngineVersion.gitCommit() + ")"};
        }
    }
}
