package dev.sahara.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Library probing for real: tiny stand-in shared libraries built with gcc, laid out like the NVIDIA Python wheels,
 * whose dependencies (DT_NEEDED) are not on the loader's path, so they load only when their companions were loaded
 * first from the wheel folder. The stand-ins have names of their own ("libsh&lt;n&gt;_cusolver.so.12" and so on, not
 * libcusolver.so.12): a real libcublas.so.13 already loaded in this JVM (the GPU tests load one) would otherwise
 * satisfy the stand-in's dependency by soname. Each stand-in references a data symbol only its stand-in dependency
 * defines, so a real library could not stand in for it either.
 */
class NativeLibrariesTest {
    private static final AtomicInteger FAMILY = new AtomicInteger();

    /** A fresh family of names (libraries stay loaded for the JVM's life: no two tests may share one). */
    private static String family() { return "libsh" + ProcessHandle.current().pid() + "x" + FAMILY.incrementAndGet(); }

    private static void gcc(Path dir, String source, String soname, String... libs) throws IOException, InterruptedException {
        Path c = Files.writeString(dir.resolve(soname + ".c"), source);
        List<String> cmd = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O0", "-o", dir.resolve(soname).toString(),
                "-Wl,-soname," + soname, c.toString(), "-L" + dir));
        for (String l : libs) cmd.add("-l:" + l);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "gcc not found: these tests build their stand-in libraries with it (" + e.getMessage() + ")");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "gcc ran past 60 s");
        assertEquals(0, p.exitValue(), "gcc " + String.join(" ", cmd) + ":\n" + out);
        Files.delete(c);
    }

    /**
     * Builds, in {@code lib}: f_cublasLt.so.13, f_cublas.so.13 (needs cublasLt), f_nvJitLink.so.13, f_cusparse.so.12
     * (needs nvJitLink) and f_cusolver.so.12 (needs cublas, cusparse, nvJitLink). {@code solverDir} may be another folder
     * (the older wheels). Returns the cusolver stand-in.
     */
    private static Path buildWheel(String f, Path lib, Path solverDir) throws Exception {
        Files.createDirectories(lib);
        Files.createDirectories(solverDir);
        gcc(lib, "int " + f + "_lt_marker = 7;\n", f + "_cublasLt.so.13");
        gcc(lib, "extern int " + f + "_lt_marker;\nint " + f + "_cublas_marker = 30;\nint " + f + "_cublas_get(void) { return "
                + f + "_cublas_marker + " + f + "_lt_marker; }\n", f + "_cublas.so.13", f + "_cublasLt.so.13");
        gcc(lib, "int " + f + "_jit_marker = 3;\n", f + "_nvJitLink.so.13");
        gcc(lib, "extern int " + f + "_jit_marker;\nint " + f + "_sparse_marker = 2;\nint *" + f + "_sparse_ref = &" + f + "_jit_marker;\n",
                f + "_cusparse.so.12", f + "_nvJitLink.so.13");
        String solver = "extern int " + f + "_cublas_marker, " + f + "_sparse_marker, " + f + "_jit_marker;\n"
                + "int *" + f + "_refs[3] = {&" + f + "_cublas_marker, &" + f + "_sparse_marker, &" + f + "_jit_marker};\n"
                + "int " + f + "_solver_value(void) { return *" + f + "_refs[0] + *" + f + "_refs[1] + *" + f + "_refs[2]; }\n";
        if (!solverDir.equals(lib)) {   // link against the stand-ins where they are; the result looks for them by soname
            for (String n : new String[] {"_cublas.so.13", "_cublasLt.so.13", "_cusparse.so.12", "_nvJitLink.so.13"}) {
                Files.copy(lib.resolve(f + n), solverDir.resolve(f + n));
            }
        }
        gcc(solverDir, solver, f + "_cusolver.so.12", f + "_cublas.so.13", f + "_cusparse.so.12", f + "_nvJitLink.so.13");
        if (!solverDir.equals(lib)) {
            for (String n : new String[] {"_cublas.so.13", "_cublasLt.so.13", "_cusparse.so.12", "_nvJitLink.so.13"}) {
                Files.delete(solverDir.resolve(f + n));
            }
        }
        return solverDir.resolve(f + "_cusolver.so.12");
    }

    private static int call(SymbolLookup l, String fn) throws Throwable {
        MethodHandle h = Linker.nativeLinker().downcallHandle(l.find(fn).orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        return (int) h.invokeExact();
    }

    private static void assertDoesNotLoadAlone(Path lib) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SymbolLookup.libraryLookup(lib, Arena.global()),
                "the stand-in must not load without its companions (else this test proves nothing)");
        String why = NativeLibraries.why(lib, e);
        assertTrue(why.contains("cannot open shared object file") || why.contains("undefined symbol"), why);
    }

    @Test
    void cu13WheelCusolverSo12LoadsAfterItsSo13CompanionsFromTheSameFolder(@TempDir Path tmp) throws Throwable {
        String f = family();
        Path site = tmp.resolve("venv/lib/python3.12/site-packages");
        Path lib = site.resolve("nvidia/cu13/lib");
        Path solver = buildWheel(f, lib, lib);
        Files.createDirectories(site.resolve("nvidia/cudnn/lib"));   // another wheel, searched after cu13
        assertDoesNotLoadAlone(solver);

        NativeLibraries.Found found = NativeLibraries.load(false, List.of(tmp.resolve("no-such-folder")), List.of(site),
                new String[] {f + "_cusolver.so.12", f + "_cusolver.so.11"}, f + "_cublasLt", f + "_cublas", f + "_cusparse", f + "_nvJitLink");
        assertEquals(solver.toString(), found.where());
        assertEquals(30 + 2 + 3, call(found.lookup(), f + "_solver_value"));

        List<String> mine = NativeLibraries.loaded().stream().filter(s -> s.contains(f)).toList();
        assertEquals(List.of(lib.resolve(f + "_cublasLt.so.13").toString(), lib.resolve(f + "_cublas.so.13").toString(),
                lib.resolve(f + "_nvJitLink.so.13").toString(), lib.resolve(f + "_cusparse.so.12").toString(), solver.toString()), mine,
                "every file loaded, companions first (cusparse once nvJitLink, which it needs, has loaded), each with the suffix it has in the folder");
    }

    @Test
    void cu13WheelCublasSo13LoadsAfterCublasLt(@TempDir Path tmp) throws Throwable {
        String f = family();
        Path site = tmp.resolve("site-packages");
        Path lib = site.resolve("nvidia/cu13/lib");
        buildWheel(f, lib, lib);
        assertDoesNotLoadAlone(lib.resolve(f + "_cublas.so.13"));
        NativeLibraries.Found found = NativeLibraries.load(false, List.of(), List.of(site),
                new String[] {f + "_cublas.so.13", f + "_cublas.so.12"}, f + "_cublasLt");
        assertEquals(37, call(found.lookup(), f + "_cublas_get"));
        assertTrue(NativeLibraries.loaded().contains(lib.resolve(f + "_cublasLt.so.13").toString()), NativeLibraries.loaded().toString());
    }

    @Test
    void olderWheelsOneFolderPerLibraryFindCompanionsInSiblingFolders(@TempDir Path tmp) throws Throwable {
        String f = family();
        Path site = tmp.resolve("usr/lib/python3/dist-packages");
        Path blas = site.resolve("nvidia/cublas/lib");
        Path solverDir = site.resolve("nvidia/cusolver/lib");
        Path solver = buildWheel(f, blas, solverDir);   // every helper in nvidia/cublas/lib, the solver in nvidia/cusolver/lib
        assertDoesNotLoadAlone(solver);
        NativeLibraries.Found found = NativeLibraries.load(false, List.of(), List.of(site),
                new String[] {f + "_cusolver.so.12"}, f + "_cublasLt", f + "_cublas", f + "_cusparse", f + "_nvJitLink");
        assertEquals(solver.toString(), found.where());
        assertEquals(35, call(found.lookup(), f + "_solver_value"));
    }

    @Test
    void aDependencyTheCompanionListsDoNotNameIsLoadedFromTheWheelFolderToo(@TempDir Path tmp) throws Throwable {
        String f = family();
        Path site = tmp.resolve("site-packages");
        Path lib = site.resolve("nvidia/cu13/lib");
        Path solver = buildWheel(f, lib, lib);
        assertDoesNotLoadAlone(solver);
        // only cuBLAS named: cusparse (and the nvJitLink it needs) come from what the loader says is missing
        NativeLibraries.Found found = NativeLibraries.load(false, List.of(), List.of(site), new String[] {f + "_cusolver.so.12"}, f + "_cublas");
        assertEquals(35, call(found.lookup(), f + "_solver_value"));
        List<String> mine = NativeLibraries.loaded().stream().filter(s -> s.contains(f)).toList();
        for (String n : new String[] {"_cublasLt.so.13", "_cublas.so.13", "_cusparse.so.12", "_nvJitLink.so.13", "_cusolver.so.12"}) {
            assertTrue(mine.contains(lib.resolve(f + n).toString()), n + " not in " + mine);
        }
        assertEquals(solver.toString(), mine.getLast());
    }

    @Test
    void theErrorNamesEveryPlaceLookedAt(@TempDir Path tmp) throws IOException {
        String f = family();
        Path missing = tmp.resolve("no-cuda/lib64");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path site = tmp.resolve("venv/lib/python3.12/site-packages");
        Path cu13 = Files.createDirectories(site.resolve("nvidia/cu13/lib"));
        Path old = Files.createDirectories(site.resolve("nvidia/cublas/lib"));
        Path noWheels = Files.createDirectories(tmp.resolve("other/site-packages"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeLibraries.load(true, List.of(missing, empty),
                List.of(site, noWheels), new String[] {f + "_cublas.so.13", f + "_cublas.so.12"}, f + "_cublasLt"));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.startsWith("none of " + f + "_cublas.so.13, " + f + "_cublas.so.12 could be loaded"), m);
        assertTrue(m.contains("loader's path"), m);
        for (Path p : List.of(missing, empty, site, cu13, old, noWheels)) assertTrue(m.contains(p.toString()), p + " not named in: " + m);
        assertTrue(m.contains(missing + " (missing)"), m);
        assertTrue(m.indexOf(cu13.toString()) < m.indexOf(old.toString()), "nvidia/cu13/lib is looked at first: " + m);
        assertTrue(m.contains("SAHARA_CUDA_LIBS"), m);
    }

    @Test
    void aLibraryThatIsFoundButDoesNotLoadSaysWhy(@TempDir Path tmp) throws Throwable {
        String f = family();
        Path dir = tmp.resolve("cuda/lib64");
        buildWheel(f, dir, dir);
        Files.delete(dir.resolve(f + "_cublasLt.so.13"));   // the companion is gone: the loader cannot resolve it
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeLibraries.load(false, List.of(dir), List.of(),
                new String[] {f + "_cublas.so.13"}, f + "_cublasLt"));
        assertTrue(e.getMessage().contains(dir.resolve(f + "_cublas.so.13") + " did not load (" + f + "_cublasLt.so.13: cannot open shared object file"),
                e.getMessage());
    }
}
