package dev.genset.plan;

import java.util.Locale;

/** Number formatting for tables and the written-out working. */
public final class Fmt {
    private Fmt() {}

    /** A readable number: whole numbers with thousands separators, large or small ones in scientific notation, others to 3-4 significant figures. */
    public static String num(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.abs(v);
        if (v == Math.rint(v) && a < 1e12) return String.format(Locale.ROOT, "%,d", (long) v);
        if (a >= 1e9 || (a < 1e-3 && a != 0)) return String.format(Locale.ROOT, "%.3e", v);
        if (a >= 1000) return trim(String.format(Locale.ROOT, "%,.1f", v));
        if (a >= 100) return trim(String.format(Locale.ROOT, "%.1f", v));
        if (a >= 10) return trim(String.format(Locale.ROOT, "%.2f", v));
        return trim(new java.math.BigDecimal(v).round(new java.math.MathContext(4)).toPlainString());
    }

    /** Drops trailing zeros after a decimal point: 6.500 -> 6.5, 10.00 -> 10. */
    private static String trim(String s) {
        if (s.indexOf('.') < 0) return s;
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /** Bytes in binary units (KiB, MiB, GiB, TiB) next to the exact count. */
    public static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return u == 0 ? num(b) + " B" : String.format(Locale.ROOT, "%.4g %s", v, units[u]);
    }
}
