package dev.sahara.cli.options;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * --out, --force, --json of a command that writes result files: its folder (runs/COMMAND unless told), claimed before
 * any work ({@link OutputFolder}), and the closing lines — the main result file with --json, else the summary and
 * where the results are. Each command names its files for the help text (picocli reads option texts from annotations
 * only: {@link Texts} writes the command's into the options as the command line is built).
 */
@Command(modelTransformer = OutputOptions.Texts.class)
public final class OutputOptions {
    private final String files, jsonHelp;

    @Option(names = "--out", paramLabel = "DIR")
    Path out;

    @Option(names = "--force", description = "Use an --out folder that holds an earlier run's results: remove exactly the files a run writes there "
            + "(result files, logs, plots, *.tmp), nothing else.")
    boolean force;

    @Option(names = "--json")
    boolean json;

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Path claimed;

    /**
     * @param files     what the folder gets, as the --out help lists it (null: not listed)
     * @param jsonHelp  the --json help: what it prints
     */
    public OutputOptions(String files, String jsonHelp) {
        this.files = files;
        this.jsonHelp = jsonHelp;
    }

    /** Claims --out (or {@code resume}, the folder of a run to continue) for the command; see {@link OutputFolder#claim}. */
    public Path claim(Path resume) {
        claimed = OutputFolder.claim(mixee, mixee.name(), out, resume, force);
        return claimed;
    }

    public Path claim() { return claim(null); }

    /** The closing lines: {@code result} with --json, else {@code summary} (whole lines) and "results: FOLDER". */
    public void print(JsonNode result, String summary) {
        PrintWriter pw = mixee.commandLine().getOut();
        if (json) pw.println(result);
        else printSummary(pw, summary, claimed);
        pw.flush();
    }

    /** {@code summary} (whole lines), then the folder that holds the results. */
    public static void printSummary(PrintWriter pw, String summary, Path folder) {
        pw.print(summary);
        pw.println("results: " + folder.toAbsolutePath());
        pw.flush();
    }

    /** Writes the command's texts into --out and --json: the files, the default folder runs/COMMAND, what --json prints. */
    public static final class Texts implements IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec command) {
            for (CommandSpec mixin : command.mixins().values()) {
                if (!(mixin.userObject() instanceof OutputOptions o)) continue;
                OptionSpec out = command.findOption("--out"), json = command.findOption("--json");
                command.remove(out);
                command.remove(json);
                command.addOption(OptionSpec.builder(out).defaultValue("runs/" + command.name())
                        .description("Output folder" + (o.files == null ? "" : " (" + o.files + ")") + ". Default: ${DEFAULT-VALUE}.").build());
                command.addOption(OptionSpec.builder(json).description(o.jsonHelp).build());
            }
            return command;
        }
    }
}
