package dev.genset.plan;

/**
 * One figure of a plan with the working behind it.
 *
 * @param key     the JSON field name (snake_case)
 * @param label   the table label
 * @param value   a {@link Double}, {@link Long}, {@link String}, {@link Boolean}, or null when unknown
 * @param unit    the unit, or "" when the figure is a count or a word
 * @param formula the formula in symbols, e.g. {@code flops / (gpus * flops_per_gpu)}; "" for inputs
 * @param working the formula with the numbers put in, e.g. {@code 4.2e23 / (1024 * 1.4e14)}
 */
public record Figure(String key, String label, Object value, String unit, String formula, String working) {

    public double asDouble() {
        if (value instanceof Number n) return n.doubleValue();
        throw new IllegalStateException(key + " is not a number: " + value);
    }

    public String display() {
        if (value == null) return "-";
        if (value instanceof Long l) return Fmt.num(l);
        if (value instanceof Double d) return Fmt.num(d);
        return String.valueOf(value);
    }
}
