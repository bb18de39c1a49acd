package dev.sahara.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds cuBLAS / cuSOLVER without the user setting anything. For each soname in order (CUDA 13's first, then 12's):
 * <ol>
 *   <li>the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache, the RUNPATH of the JVM);</li>
 *   <li>the folders $SAHARA_CUDA_LIBS (':'-separated), $CUDA_HOME/lib64, /usr/local/cuda/lib64;</li>
 *   <li>the NVIDIA Python wheels in every Python's site-packages: {@code nvidia/cu13/lib} (CUDA 13 wheels keep every
 *       library there), {@code nvidia/cu12/lib}, then {@code nvidia/*}{@code /lib} (the older one-folder-per-library
 *       wheels). The site-packages folders are found with bounded globs (never a recursive search): $VIRTUAL_ENV,
 *       $CONDA_PREFIX, /usr/lib/python3*&#47;(site|dist)-packages, /usr/local/lib/python3*&#47;(site|dist)-packages,
 *       ~/.local/lib/python3*&#47;site-packages, /opt/conda*&#47;lib/python3*&#47;site-packages,
 *       /opt/*&#47;lib/python3*&#47;site-packages, ~/.pyenv/versions/*&#47;lib/python3*&#47;site-packages;</li>
 *   <li>last, only if nothing above had it: what {@code python3} itself reports as its site-packages (2 s at most).</li>
 * </ol>
 * A library found in a folder has its companions (libcublasLt for libcublas; libcublasLt, libcublas, libcusparse,
 * libnvJitLink for libcusolver) loaded first, by path, from the same folder, whatever their soname suffix there is
 * (a CUDA 13 wheel has libcusolver.so.12 beside libcublas.so.13), else from a sibling {@code nvidia/*}{@code /lib}
 * folder, so the loader resolves the library's own dependencies without LD_LIBRARY_PATH. Every file loaded is
 * listed by {@link #loaded()}. Libraries stay loaded for the life of the JVM.
 */
public final class NativeLibraries {
    /** A library that loaded: its lookup and the name or path it was found under. */
    record Found(SymbolLookup lookup, String where) {}

    private static final List<String> LOADED = new ArrayList<>();
    private static List<Path> pythonSitePackages;

    private NativeLibraries() {}

    /** Every file this process loaded through here (companions first), as paths, in load order. */
    public static synchronized List<String> loaded() { return List.copyOf(LOADED); }

    /** The folders named by the environment: $SAHARA_CUDA_LIBS, $CUDA_HOME/lib64, /usr/local/cuda/lib64. */
    static List<Path> folders() {
        List<Path> dirs = new ArrayList<>();
        String extra = System.getenv("SAHARA_CUDA_LIBS");
        if (extra != null) for (String d : extra.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
        String home = System.getenv("CUDA_HOME");
        if (home != null && !home.isBlank()) dirs.add(Path.of(home, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        return dirs;
    }

    /** The site-packages folders of the Pythons this machine has, by bounded globs (existing folders only). */
    static List<Path> sitePackages() {
        Set<Path> roots = new LinkedHashSet<>();
        String home = System.getProperty("user.home", "");
        for (String env : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) roots.addAll(glob(Path.of(v, "lib"), "python3*", "site-packages"));
        }
        for (String base : new String[] {"/usr/lib", "/usr/local/lib"}) {
            roots.addAll(glob(Path.of(base), "python3*", "site-packages"));
            roots.addAll(glob(Path.of(base), "python3*", "dist-packages"));
        }
        if (!home.isEmpty()) roots.addAll(glob(Path.of(home, ".local/lib"), "python3*", "site-packages"));
        for (Path conda : children(Path.of("/opt"), "conda*")) roots.addAll(glob(conda.resolve("lib"), "python3*", "site-packages"));
        for (Path opt : children(Path.of("/opt"), "*")) roots.addAll(glob(opt.resolve("lib"), "python3*", "site-packages"));
        if (!home.isEmpty()) {
            for (Path v : children(Path.of(home, ".pyenv/versions"), "*")) roots.addAll(glob(v.resolve("lib"), "python3*", "site-packages"));
        }
        return new ArrayList<>(roots);
    }

    /** {@code dir/<pattern>/leaf} for every entry of dir matching pattern, where that folder exists. */
    private static List<Path> glob(Path dir, String pattern, String leaf) {
        List<Path> out = new ArrayList<>();
        for (Path p : children(dir, pattern)) if (Files.isDirectory(p.resolve(leaf))) out.add(p.resolve(leaf));
        return out;
    }

    /** The entries of one folder matching a glob, sorted (none where the folder is missing or unreadable). */
    private static List<Path> children(Path dir, String pattern) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : s) out.add(p);
        } catch (IOException | RuntimeException e) {
            return out;
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** The library folders of the NVIDIA wheels under one site-packages folder: nvidia/cu13/lib, nvidia/cu12/lib, nvidia/*&#47;lib. */
    static List<Path> wheelFolders(Path sitePackages) {
        Set<Path> out = new LinkedHashSet<>();
        Path nvidia = sitePackages.resolve("nvidia");
        for (String v : new String[] {"cu13", "cu12"}) if (Files.isDirectory(nvidia.resolve(v).resolve("lib"))) out.add(nvidia.resolve(v).resolve("lib"));
        for (Path p : children(nvidia, "*")) if (Files.isDirectory(p.resolve("lib"))) out.add(p.resolve("lib"));
        return new ArrayList<>(out);
    }

    /** What python3 says its site-packages are (asked once per JVM; 2 s at most; empty if there is no python3). */
    static synchronized List<Path> pythonSitePackages() {
        if (pythonSitePackages != null) return pythonSitePackages;
        List<Path> out = new ArrayList<>();
        Process p = null;
        try {
            p = new ProcessBuilder("python3", "-c",
                    "import site,sys\nfor d in site.getsitepackages()+[site.getusersitepackages()]+sys.path: print(d)")
                    .redirectErrorStream(false).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0) {
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                for (String line : text.split("\n")) {
                    line = line.strip();
                    if ((line.endsWith("site-packages") || line.endsWith("dist-packages")) && Files.isDirectory(Path.of(line))) {
                        if (!out.contains(Path.of(line))) out.add(Path.of(line));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no python3: nothing more to look at
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (p != null) p.destroyForcibly();
        }
        return pythonSitePackages = List.copyOf(out);
    }

    /**
     * The first of {@code sonames} that loads, looking where the class comment says. {@code companions} (base names
     * such as "libcublasLt") are loaded first from the folder the library is found in.
     *
     * @throws IllegalStateException naming every place looked at
     */
    static synchronized Found load(String[] sonames, String... companions) {
        Search first = new Search(true, folders(), sitePackages());
        Found f = first.find(sonames, companions);
        if (f != null) return f;
        List<Path> more = new ArrayList<>(pythonSitePackages());
        more.removeAll(first.sitePackages);
        Search last = new Search(false, List.of(), more);
        f = last.find(sonames, companions);
        if (f != null) return f;
        throw new IllegalStateException(first.failure(sonames, last, more.isEmpty()
                ? "python3 reported no other site-packages" : "python3 reported " + more));
    }

    /** The same search over given places only (tests): no environment, no python3; the loader's path if asked. */
    static synchronized Found load(boolean loaderPath, List<Path> folders, List<Path> sitePackages, String[] sonames, String... companions) {
        Search s = new Search(loaderPath, folders, sitePackages);
        Found f = s.find(sonames, companions);
        if (f != null) return f;
        throw new IllegalStateException(s.failure(sonames, null, null));
    }

    /** One pass over a list of places; remembers what it looked at for the error. */
    private static final class Search {
        final boolean loaderPath;
        final List<Path> folders, sitePackages;
        final List<String> failures = new ArrayList<>();
        final Set<Path> looked = new LinkedHashSet<>();

        Search(boolean loaderPath, List<Path> folders, List<Path> sitePackages) {
            this.loaderPath = loaderPath;
            this.folders = folders;
            this.sitePackages = sitePackages;
        }

        List<Path> places() {
            Set<Path> dirs = new LinkedHashSet<>(folders);
            for (Path sp : sitePackages) dirs.addAll(wheelFolders(sp));
            return new ArrayList<>(dirs);
        }

        Found find(String[] sonames, String[] companions) {
            List<Path> places = places();
            for (String soname : sonames) {
                if (loaderPath) {
                    try {
                        SymbolLookup l = SymbolLookup.libraryLookup(soname, Arena.global());
                        LOADED.add(mappedPath(soname));
                        return new Found(l, soname);
                    } catch (IllegalArgumentException e) {
                        // not on the loader's path
                    }
                }
                for (Path dir : places) {
                    looked.add(dir);
                    Path p = dir.resolve(soname);
                    if (!Files.exists(p)) continue;
                    List<String> companionErrors = new ArrayList<>();
                    loadCompanions(dir, companions, soname, companionErrors);
                    try {
                        return new Found(loadWithDependencies(p, 0), p.toString());
                    } catch (IllegalArgumentException e) {
                        failures.add(p + " did not load (" + why(p, e) + ")"
                                + (companionErrors.isEmpty() ? "" : "; companions: " + String.join(", ", companionErrors)));
                    }
                }
            }
            return null;
        }

        /**
         * Loads the companions (any soname suffix) from dir, else from a sibling wheel folder nvidia/*&#47;lib. A
         * companion that needs another (libcusparse needs libnvJitLink) is tried again once the others have loaded.
         */
        void loadCompanions(Path dir, String[] companions, String mainSoname, List<String> errors) {
            List<List<Path>> pending = new ArrayList<>();
            for (String c : companions) {
                List<Path> candidates = companionFiles(dir, c, mainSoname);
                Path nvidia = dir.getParent() == null ? null : dir.getParent().getParent();
                if (candidates.isEmpty() && nvidia != null && nvidia.getFileName() != null && nvidia.getFileName().toString().equals("nvidia")) {
                    for (Path sibling : children(nvidia, "*")) {
                        if (sibling.resolve("lib").equals(dir)) continue;
                        candidates = companionFiles(sibling.resolve("lib"), c, mainSoname);
                        if (!candidates.isEmpty()) break;
                    }
                }
                if (!candidates.isEmpty()) pending.add(candidates);
            }
            List<String> last = new ArrayList<>();
            boolean progress = true;
            while (!pending.isEmpty() && progress) {
                progress = false;
                last.clear();
                for (var it = pending.iterator(); it.hasNext(); ) {
                    if (loadOne(it.next(), last)) {
                        it.remove();
                        progress = true;
                    }
                }
            }
            errors.addAll(last);
        }

        /** The first of candidates that loads (or is loaded already); false, with why, if none does. */
        private static boolean loadOne(List<Path> candidates, List<String> errors) {
            for (Path cp : candidates) {
                if (LOADED.contains(cp.toString())) return true;
                try {
                    loadWithDependencies(cp, 0);
                    return true;
                } catch (IllegalArgumentException e) {
                    errors.add(cp + ": " + why(cp, e));
                }
            }
            return false;
        }

        String failure(String[] sonames, Search then, String pythonNote) {
            StringBuilder b = new StringBuilder("none of ").append(String.join(", ", sonames)).append(" could be loaded; looked");
            if (loaderPath) b.append(" on the loader's path (LD_LIBRARY_PATH, ld.so.cache),");
            b.append(" in the folders ").append(describe(folders));
            b.append(", in the Python site-packages ").append(describe(sitePackages));
            Set<Path> wheels = new LinkedHashSet<>(looked);
            folders.forEach(wheels::remove);
            if (then != null) wheels.addAll(then.looked);
            b.append(wheels.isEmpty() ? " (no nvidia/*/lib wheel folders in them)" : " (wheel folders " + describe(new ArrayList<>(wheels)) + ")");
            if (pythonNote != null) b.append("; ").append(pythonNote);
            List<String> all = new ArrayList<>(failures);
            if (then != null) all.addAll(then.failures);
            if (!all.isEmpty()) b.append("; ").append(String.join("; ", all));
            return b.append("; set SAHARA_CUDA_LIBS to the folder that holds them, or install the CUDA 13 Python wheels "
                    + "(pip install nvidia-cublas nvidia-cusolver)").toString().replace('\n', ' ');
        }

        private static String describe(List<Path> dirs) {
            if (dirs.isEmpty()) return "[none]";
            List<String> s = new ArrayList<>();
            for (Path d : dirs) s.add(d + (Files.isDirectory(d) ? "" : " (missing)"));
            return "[" + String.join(", ", s) + "]";
        }
    }

    /** A dependency the loader could not find, from dlerror's text ("libnvJitLink.so.13: cannot open shared object file"). */
    private static final Pattern MISSING = Pattern.compile("^([^:/\\s]+\\.so[0-9.]*): cannot open shared object file");

    /**
     * Loads a file by path. When the loader says one of its dependencies is missing and a file of that name is in the
     * same folder (or, in a wheel, a sibling nvidia/*&#47;lib), that one is loaded first, the same way, and the file
     * again: a dependency the companion lists do not name still resolves from the wheel.
     */
    static SymbolLookup loadWithDependencies(Path p, int depth) {
        try {
            SymbolLookup l = SymbolLookup.libraryLookup(p, Arena.global());
            if (!LOADED.contains(p.toString())) LOADED.add(p.toString());
            return l;
        } catch (IllegalArgumentException e) {
            if (depth >= 8) throw e;
            Matcher m = MISSING.matcher(why(p, e));
            Path dep = m.find() ? besideInWheel(p.getParent(), m.group(1)) : null;
            if (dep == null || dep.equals(p) || LOADED.contains(dep.toString())) throw e;
            loadWithDependencies(dep, depth + 1);
            return loadWithDependencies(p, depth + 1);
        }
    }

    /** dir/name, else nvidia/X/lib/name beside dir when dir is a wheel's nvidia/Y/lib; null if neither exists. */
    private static Path besideInWheel(Path dir, String name) {
        if (dir == null) return null;
        if (Files.isRegularFile(dir.resolve(name))) return dir.resolve(name);
        Path nvidia = dir.getParent() == null ? null : dir.getParent().getParent();
        if (nvidia == null || nvidia.getFileName() == null || !nvidia.getFileName().toString().equals("nvidia")) return null;
        for (Path sibling : children(nvidia, "*")) if (Files.isRegularFile(sibling.resolve("lib").resolve(name))) return sibling.resolve("lib").resolve(name);
        return null;
    }

    /** Files {@code c.so.N} in dir: the main library's suffix first, then the others, highest version first. */
    static List<Path> companionFiles(Path dir, String c, String mainSoname) {
        List<Path> out = new ArrayList<>();
        String suffix = mainSoname.substring(mainSoname.indexOf(".so"));
        Path same = dir.resolve(c + suffix);
        if (Files.exists(same)) out.add(same);
        List<Path> others = children(dir, c + ".so.[0-9]*");
        others.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
        for (Path p : others) if (!out.contains(p)) out.add(p);
        if (out.isEmpty() && Files.exists(dir.resolve(c + ".so"))) out.add(dir.resolve(c + ".so"));
        return out;
    }

    /**
     * Why a file does not load, in the loader's words ("libnvJitLink.so.13: cannot open shared object file: ..."):
     * the JDK's message names only the file, so dlopen is asked again here, through libc's dlopen / dlerror.
     */
    static String why(Path p, IllegalArgumentException e) {
        try (Arena a = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            var dlopen = libc.find("dlopen");
            var dlerror = libc.find("dlerror");
            var dlclose = libc.find("dlclose");
            if (dlopen.isEmpty() || dlerror.isEmpty() || dlclose.isEmpty()) return e.getMessage();
            MethodHandle open = linker.downcallHandle(dlopen.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MethodHandle error = linker.downcallHandle(dlerror.get(), FunctionDescriptor.of(ValueLayout.ADDRESS));
            MethodHandle close = linker.downcallHandle(dlclose.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            MemorySegment ignored = (MemorySegment) error.invokeExact();   // clears an earlier error
            MemorySegment h = (MemorySegment) open.invokeExact(a.allocateFrom(p.toString()), 1 /* RTLD_LAZY */);
            if (!h.equals(MemorySegment.NULL)) {
                int rc = (int) close.invokeExact(h);
                return e.getMessage();
            }
            MemorySegment msg = (MemorySegment) error.invokeExact();
            return msg.equals(MemorySegment.NULL) ? e.getMessage() : msg.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return e.getMessage();
        }
    }

    /** The file the loader mapped for a soname (from /proc/self/maps), else the soname itself. */
    static String mappedPath(String soname) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"), StandardCharsets.UTF_8)) {
                int slash = line.indexOf('/');
                if (slash < 0) continue;
                String path = line.substring(slash).strip();
                String name = path.substring(path.lastIndexOf('/') + 1);
                if (name.equals(soname) || name.startsWith(soname + ".")) return path;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: the soname says enough
        }
        return soname;
    }
}
