package dev.genset.models;

import java.nio.file.Path;

/** The data directory that holds models, datasets and captured requests: GENSET_HOME, default ~/.genset. */
public final class GensetHome {
    private GensetHome() {}

    /** {@code explicit} if given, else $GENSET_HOME, else ~/.genset. */
    public static Path resolve(Path explicit) {
        if (explicit != null) return explicit.toAbsolutePath().normalize();
        String env = System.getenv("GENSET_HOME");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        return Path.of(System.getProperty("user.home"), ".genset");
    }

    public static Path resolve() {
        return resolve(null);
    }
}
