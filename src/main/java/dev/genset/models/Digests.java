package dev.genset.models;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/** SHA-256 helpers: hashing files and recognising hex digests. */
public final class Digests {
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    private Digests() {}

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return hex(md.digest());
    }

    public static String sha256(byte[] bytes) {
        return hex(sha256().digest(bytes));
    }

    /**
     * A user- or server-given SHA-256 as 64 lower-case hex digits, or null if it is not one.
     * Accepts "sha256:" and "sha256-" prefixes, quotes and the weak-ETag marker.
     */
    public static String normalizeSha256(String text) {
        if (text == null) return null;
        String t = text.trim();
        if (t.startsWith("W/")) t = t.substring(2);
        t = t.replace("\"", "").trim().toLowerCase(Locale.ROOT);
        if (t.startsWith("sha256:") || t.startsWith("sha256-")) t = t.substring(7);
        return SHA256_HEX.matcher(t).matches() ? t : null;
    }
}
