package dev.sahara;

import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of engine.jar. {@code java -jar engine.jar ...} on a plain JDK 25 does not resolve the
 * incubating Vector API module, and no manifest attribute can add it; so when the module is missing this
 * class re-launches the same java with the needed flags and the same arguments (about 0.1 s). It must not
 * touch any class that uses the Vector API before that check.
 */
public final class Main {
    static final String RELAUNCH_GUARD = "SAHARA_RELAUNCHED";
    static final List<String> JVM_FLAGS = List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");

    private Main() {}

    public static void main(String[] args) throws Exception {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            if (System.getenv(RELAUNCH_GUARD) != null) {
                System.err.println("error: this JVM cannot load jdk.incubator.vector; run engine.jar on JDK 25 or newer");
                System.exit(2);
            }
            System.exit(relaunch(args));
        }
        System.exit(dev.sahara.cli.SaharaCommand.run(args));
    }

    private static int relaunch(String[] args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        String jar = new java.io.File(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(JVM_FLAGS);
        for (String a : ProcessHandle.current().info().arguments().orElse(new String[0])) {
            if (a.equals("-jar")) break; // keep the user's own JVM options (e.g. -Xmx), drop the rest
            cmd.add(a);
        }
        cmd.add("-cp");
        cmd.add(jar);
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put(RELAUNCH_GUARD, "1");
        return pb.start().waitFor();
    }
}
