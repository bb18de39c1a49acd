package dev.sahara.cli;

import dev.sahara.SaharaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The top-level command: {@code java -jar engine.jar <command> ...}. One subcommand per file in this package. */
@Command(name = "engine.jar", mixinStandardHelpOptions = true, versionProvider = SaharaCommand.Version.class,
        description = "Sahara: finds the attention heads an aligned model's safety depends on.",
        subcommands = {AttributeCommand.class, ShipsCommand.class, SweepCommand.class, AsrCommand.class, GenerateCommand.class, LogitsCommand.class,
                InspectCommand.class, SurgeryCommand.class, ShipsAsrCommand.class, CourseCorrectionCommand.class, HelpfulnessCommand.class,
                CompareCommand.class, ConformanceCommand.class})
public final class SaharaCommand implements Runnable {
    /** Exit code of every usage or input error. */
    public static final int EXIT_USAGE = 2;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "missing command: try --help");
    }

    public static int run(String... args) {
        var utf8 = java.nio.charset.StandardCharsets.UTF_8;
        return newCommandLine(new PrintWriter(new java.io.OutputStreamWriter(System.out, utf8), true),
                new PrintWriter(new java.io.OutputStreamWriter(System.err, utf8), true)).execute(args);
    }

    /** A command line whose errors are one line on {@code err} and exit code 2. */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new SaharaCommand());
        for (CommandLine sub : cl.getSubcommands().values()) sub.getCommandSpec().mixinStandardHelpOptions(true); // --help, --version everywhere
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, args) -> {
            err.println("error: " + ex.getMessage() + " (see --help)");
            return EXIT_USAGE;
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"sahara " + EngineVersion.version() + " (" + EngineVersion.gitCommit() + ")"};
        }
    }
}
