package dev.sahara;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of engine.jar. {@code java -jar engine.jar ...} on a plain JDK 25 does not resolve the
 * incubating Vector API module, and no manifest attribute can add it; so when the module is missing this
 * class re-launches the same java with the needed flags and the same arguments (about 0.1 s). It must not
 * touch any class that uses the Vector API before that check.
 *
 * <p>The launcher stands in for the run: SIGINT, SIGTERM and SIGHUP it receives go on to the child (so {@code kill PID},
 * {@code Popen.terminate()} or a closed terminal stop the run, which then cleans up as if signalled itself), and it
 * exits only after the child, with the child's exit code. A launcher killed outright (SIGKILL) cannot forward
 * anything: the child watches it and stops when it is gone, rather than go on writing results nobody waits for.
 */
public final class Main {
    static final String RELAUNCH_GUARD = "SAHARA_RELAUNCHED";
    static final List<String> JVM_FLAGS = List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");
    /** The signals a user or a process manager stops a run with. */
    static final List<String> FORWARDED_SIGNALS = List.of("INT", "TERM", "HUP");

    private Main() {}

    public static void main(String[] args) throws Exception {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            if (System.getenv(RELAUNCH_GUARD) != null) {
                System.err.println("error: this JVM cannot load jdk.incubator.vector; run engine.jar on JDK 25 or newer");
                System.exit(2);
            }
            System.exit(relaunch(args));
        }
        if (System.getenv(RELAUNCH_GUARD) != null) stopWhenTheLauncherDies();
        System.exit(dev.sahara.cli.SaharaCommand.run(args));
    }

    private static int relaunch(String[] args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(JVM_FLAGS);
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());   // the user's own JVM options (e.g. -Xmx)
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));   // engine.jar under -jar; the same class path under -cp
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put(RELAUNCH_GUARD, "1");
        Process child = pb.start();
        for (String name : FORWARDED_SIGNALS) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> forward(child, s.getName()));
            } catch (IllegalArgumentException notHere) {
                // a signal this platform does not have (HUP on Windows): nothing to forward
            }
        }
        while (true) {
            try {
                return child.waitFor();
            } catch (InterruptedException e) {
                // keep waiting: this process ends after the child, never before
            }
        }
    }

    /** Sends the signal the launcher received to the child; where {@code kill} is missing, SIGTERM through the JDK. */
    private static void forward(Process child, String signal) {
        try {
            if (new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid())).inheritIO().start().waitFor() == 0) return;
        } catch (Exception e) {
            // no kill command: fall through
        }
        child.destroy();
    }

    /** In the re-launched child: when the launcher is gone (killed with SIGKILL), stop as if signalled. */
    private static void stopWhenTheLauncherDies() {
        ProcessHandle.current().parent().ifPresent(launcher -> launcher.onExit().thenRun(() -> {
            System.err.println("error: the launcher (pid " + launcher.pid() + ") was killed; stopping");
            System.exit(143);
        }));
    }
}
