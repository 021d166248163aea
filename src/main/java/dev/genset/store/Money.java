package dev.genset.store;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Money in US dollars as {@link BigDecimal}, stored as whole nano-dollars (1e-9 USD) in a
 * {@code BIGINT}: exact in both databases and in their sums.
 */
public final class Money {
    private Money() {}

    public static final int SCALE = 9;
    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

    /** Dollars to nano-dollars, rounding half up below a nano-dollar. */
    public static long toNanos(BigDecimal usd) {
        if (usd == null) throw new IllegalArgumentException("no amount");
        return usd.setScale(SCALE, RoundingMode.HALF_UP).unscaledValue().longValueExact();
    }

    public static Long toNanosOrNull(BigDecimal usd) {
        return usd == null ? null : toNanos(usd);
    }

    public static BigDecimal fromNanos(long nanos) {
        return normalize(BigDecimal.valueOf(nanos, SCALE));
    }

    /** One representation per value (so records holding amounts compare equal): no trailing zeros. */
    public static BigDecimal normalize(BigDecimal v) {
        if (v == null) return null;
        BigDecimal s = v.stripTrailingZeros();
        return s.scale() < 0 ? s.setScale(0) : s;
    }

    public static BigDecimal fromNanosOrNull(Long nanos) {
        return nanos == null ? null : fromNanos(nanos);
    }

    /** Parses a user's amount ("10", "10.00", "$0.15"); negative amounts are refused. */
    public static BigDecimal parse(String text) {
        String t = text.trim();
        if (t.startsWith("$")) t = t.substring(1);
        BigDecimal v;
        try {
            v = new BigDecimal(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an amount: " + text);
        }
        if (v.signum() < 0) throw new IllegalArgumentException("negative amount: " + text);
        if (v.scale() > SCALE) throw new IllegalArgumentException("more than 9 decimals: " + text);
        return v;
    }

    /** The cost of {@code tokens} at {@code pricePerMillion} dollars per million tokens, exact. */
    public static BigDecimal cost(long tokens, BigDecimal pricePerMillion) {
        if (tokens == 0 || pricePerMillion == null || pricePerMillion.signum() == 0) return BigDecimal.ZERO;
        return pricePerMillion.multiply(BigDecimal.valueOf(tokens)).divide(MILLION);
    }

    /** A plain rendering: at least two decimals, no trailing zeros past them. */
    public static String format(BigDecimal usd) {
        if (usd == null) return "-";
        BigDecimal s = usd.stripTrailingZeros();
        if (s.scale() < 2) s = s.setScale(2, RoundingMode.UNNECESSARY);
        return s.toPlainString();
    }
}
