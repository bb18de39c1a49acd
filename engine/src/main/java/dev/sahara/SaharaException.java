package dev.sahara;

/**
 * A problem with the user's input (a file, an option, a head id): printed as one line
 * {@code error: <where>: <problem>} and exit code 2. Never used for bugs.
 */
public class SaharaException extends RuntimeException {
    public SaharaException(String message) { super(message); }

    public SaharaException(String message, Throwable cause) { super(message, cause); }

    /** An error about one file: the message names the file first. */
    public static SaharaException inFile(java.nio.file.Path file, String problem) {
        return new SaharaException(file + ": " + problem);
    }
}
