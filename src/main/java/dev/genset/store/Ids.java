package dev.genset.store;

import java.security.SecureRandom;

/** Random identifiers and base62 text. */
public final class Ids {
    private Ids() {}

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    /**
     * {@code prefix} followed by {@code n} random base62 characters: one draw of random bytes per
     * id (every request takes one, and each draw takes the generator's lock), each byte below 248
     * giving a character (248 = 4 * 62, so all 62 are equally likely).
     */
    public static String random(String prefix, int n) {
        StringBuilder sb = new StringBuilder(prefix.length() + n).append(prefix);
        byte[] bytes = new byte[n + n / 8 + 4];
        RANDOM.nextBytes(bytes);
        for (int i = 0, j = 0; i < n; j++) {
            if (j == bytes.length) {
                RANDOM.nextBytes(bytes);
                j = 0;
            }
            int v = bytes[j] & 0xFF;
            if (v < 248) {
                sb.append(BASE62[v % 62]);
                i++;
            }
        }
        return sb.toString();
    }

    /**
     * {@code prefix}, the current time in milliseconds as 8 base62 characters (zero-padded, so ids
     * sort by time until the year 8800), then {@code n - 8} random characters as {@link #random}
     * gives them. Rows keyed by such ids go to the end of their index, where random keys would
     * each touch a page of their own: the usage ledger writes a row per request.
     */
    public static String ordered(String prefix, int n) {
        if (n < 16) throw new IllegalArgumentException("an ordered id needs at least 8 random characters");
        char[] time = new char[8];
        long t = System.currentTimeMillis();
        for (int i = 7; i >= 0; i--, t /= 62) time[i] = BASE62[(int) (t % 62)];
        return random(prefix + new String(time), n - 8);
    }

    /** Base62 of an unsigned big-endian number given as bytes (leading zeros kept as '0's to a fixed width). */
    public static String base62(byte[] bytes, int width) {
        java.math.BigInteger v = new java.math.BigInteger(1, bytes);
        java.math.BigInteger b62 = java.math.BigInteger.valueOf(62);
        StringBuilder sb = new StringBuilder();
        while (v.signum() > 0) {
            java.math.BigInteger[] qr = v.divideAndRemainder(b62);
            sb.append(BASE62[qr[1].intValue()]);
            v = qr[0];
        }
        while (sb.length() < width) sb.append('0');
        return sb.reverse().toString();
    }

    public static SecureRandom secureRandom() {
        return RANDOM;
    }
}
