package dev.sahara.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a CUDA library by probing sonames in order (CUDA 13's first, then 12's): first through the dynamic
 * loader's own search (LD_LIBRARY_PATH, ld.so.cache), then in $SAHARA_CUDA_LIBS (':'-separated folders),
 * $CUDA_HOME/lib64, /usr/local/cuda/lib64. Libraries stay loaded for the life of the JVM.
 */
final class NativeLibraries {
    /** A library that loaded: its lookup and the name or path it was found under. */
    record Found(SymbolLookup lookup, String where) {}

    private NativeLibraries() {}

    static List<Path> folders() {
        List<Path> dirs = new ArrayList<>();
        String extra = System.getenv("SAHARA_CUDA_LIBS");
        if (extra != null) for (String d : extra.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
        String home = System.getenv("CUDA_HOME");
        if (home != null && !home.isBlank()) dirs.add(Path.of(home, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        return dirs;
    }

    /**
     * The first of {@code sonames} that loads. {@code companions} (e.g. libcublasLt for libcublas) are loaded
     * first from the same folder when found there, so the loader resolves the library's own dependencies.
     *
     * @throws IllegalStateException naming every place looked at
     */
    static Found load(String[] sonames, String... companions) {
        List<String> tried = new ArrayList<>();
        for (String soname : sonames) {
            try {
                return new Found(SymbolLookup.libraryLookup(soname, Arena.global()), soname);
            } catch (IllegalArgumentException e) {
                tried.add(soname);
            }
            for (Path dir : folders()) {
                Path p = dir.resolve(soname);
                if (!Files.exists(p)) continue;
                String suffix = soname.substring(soname.indexOf(".so"));
                for (String c : companions) {
                    Path cp = dir.resolve(c + suffix);
                    if (Files.exists(cp)) {
                        try {
                            SymbolLookup.libraryLookup(cp, Arena.global());
                        } catch (IllegalArgumentException ignored) {
                            // the main library's own load below reports what is missing
                        }
                    }
                }
                try {
                    return new Found(SymbolLookup.libraryLookup(p, Arena.global()), p.toString());
                } catch (IllegalArgumentException e) {
                    tried.add(p + " (" + e.getMessage() + ")");
                }
            }
        }
        throw new IllegalStateException("none of " + String.join(", ", sonames) + " could be loaded (tried " + String.join("; ", tried)
                + " and " + folders() + "; set SAHARA_CUDA_LIBS to the folder that holds them)");
    }
}
