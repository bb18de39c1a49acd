package dev.sahara.cli.options;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The refusal-direction options on a command that searches for heads (ships, sweep, attribute, ships-asr): refused
 * with the reason and what to run instead, rather than picocli's "Unknown option". Their searches rank heads on the
 * unedited model; a direction edit as the base of a search would change every score's meaning, and an evaluation of
 * heads together with a direction is one {@code asr --ablate HEADS --ablate-direction FILE}. Hidden from --help.
 */
public final class NoDirectionOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = {"--ablate-direction", "--add-direction", "--coefficient"}, paramLabel = "VALUE", hidden = true)
    void refuse(String value) {
        throw new CommandLine.ParameterException(command.commandLine(), command.name() + " ranks heads on the unedited model and takes no "
                + "direction edit (--ablate-direction, --add-direction, --coefficient); to evaluate heads together with a direction, run "
                + "asr (or generate, logits, course-correction, helpfulness) with --ablate HEADS --ablate-direction FILE");
    }
}
