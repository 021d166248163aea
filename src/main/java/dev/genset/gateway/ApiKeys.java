package dev.genset.gateway;

import dev.genset.store.Ids;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * API key material: 256 random bits from {@link java.security.SecureRandom}, written as
 * {@code gs-} and 43 base62 characters. Only the SHA-256 of a key is stored, with its first
 * {@link #PREFIX_LENGTH} characters to tell keys apart in listings.
 */
public final class ApiKeys {
    private ApiKeys() {}

    public static final String SCHEME = "gs-";
    public static final int PREFIX_LENGTH = SCHEME.length() + 8;

    /** A new key; shown once to whoever creates it. */
    public static String generate() {
        byte[] bytes = new byte[32];
        Ids.secureRandom().nextBytes(bytes);
        return SCHEME + Ids.base62(bytes, 43);
    }

    public static String hash(String key) {
        return HexFormat.of().formatHex(sha256(key));
    }

    public static String prefix(String key) {
        return key.length() <= PREFIX_LENGTH ? key : key.substring(0, PREFIX_LENGTH);
    }

    /** A fresh digest is cloned from this one: looking the algorithm up among the providers cost more than hashing a key. */
    private static final MessageDigest SHA256 = newSha256();

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] sha256(String s) {
        MessageDigest md;
        try {
            md = (MessageDigest) SHA256.clone();
        } catch (CloneNotSupportedException e) {
            md = newSha256();
        }
        return md.digest(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Compares two secrets in time that does not depend on where they differ (digests first, so nor on length). */
    public static boolean constantTimeEquals(String presented, String expected) {
        if (presented == null || expected == null) return false;
        return MessageDigest.isEqual(sha256(presented), sha256(expected));
    }

    /** The token of an {@code Authorization: Bearer ...} header value, or null. */
    public static String bearer(String authorization) {
        if (authorization == null) return null;
        String a = authorization.trim();
        if (a.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String t = a.substring(7).trim();
            return t.isEmpty() ? null : t;
        }
        return null;
    }
}
