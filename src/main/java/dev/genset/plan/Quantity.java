package dev.genset.plan;

import java.util.Locale;

/**
 * Parses the numbers users type for sizes and counts: {@code 175e9}, {@code 175B}, {@code 300B},
 * {@code 1T}, {@code 1.5M}, {@code 4k}, {@code 1,024}. Suffixes are decimal: k = 1e3, M = 1e6,
 * B or G = 1e9, T = 1e12, P = 1e15.
 */
public final class Quantity {
    private Quantity() {}

    /** The value of {@code text}; errors name {@code flag}. */
    public static double parse(String text, String flag) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException(flag + ": a number is required");
        String s = text.strip().replace(",", "").replace("_", "");
        double scale = 1;
        char last = s.charAt(s.length() - 1);
        switch (Character.toUpperCase(last)) {
            case 'K' -> scale = 1e3;
            case 'M' -> scale = 1e6;
            case 'B', 'G' -> scale = 1e9;
            case 'T' -> scale = 1e12;
            case 'P' -> scale = 1e15;
            default -> { }
        }
        if (scale != 1) s = s.substring(0, s.length() - 1);
        double v;
        try {
            if (s.isEmpty() || !s.matches("[+-]?[0-9]*\\.?[0-9]*([eE][+-]?[0-9]+)?")) throw new NumberFormatException();
            v = Double.parseDouble(s) * scale;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": not a number: '" + text + "' (write e.g. 175e9, 175B, 1.5M, 1T)");
        }
        if (!Double.isFinite(v)) throw new IllegalArgumentException(flag + ": not a finite number: '" + text + "'");
        return v;
    }

    /** A value that must be greater than zero. */
    public static double positive(String text, String flag) {
        double v = parse(text, flag);
        if (v <= 0) throw new IllegalArgumentException(flag + " must be greater than zero, got " + text.strip());
        return v;
    }

    /** A whole count that must be at least one. */
    public static long count(String text, String flag) {
        double v = parse(text, flag);
        if (v <= 0) throw new IllegalArgumentException(flag + " must be a positive whole number, got " + text.strip());
        if (v != Math.rint(v) || v > Long.MAX_VALUE / 2) throw new IllegalArgumentException(flag + " must be a whole number, got " + text.strip());
        return (long) v;
    }

    /** A link speed such as {@code 400g}, {@code 800G}, {@code 1.6t}, {@code 200}: gigabits per second. */
    public static double linkGbps(String text, String flag) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("bps")) s = s.substring(0, s.length() - 3);
        if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
        double scale = 1;
        if (s.endsWith("t")) { scale = 1000; s = s.substring(0, s.length() - 1); }
        else if (s.endsWith("g")) s = s.substring(0, s.length() - 1);
        try {
            double v = Double.parseDouble(s) * scale;
            if (!(v > 0) || !Double.isFinite(v)) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": not a link speed: '" + text + "' (write e.g. 400g, 800g, 1.6t)");
        }
    }
}
