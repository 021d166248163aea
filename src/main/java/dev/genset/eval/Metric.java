package dev.genset.eval;

import com.fasterxml.jackson.annotation.JsonInclude;

/** A metric's value and its (bootstrap) standard error; {@code stderr} is null when it cannot be estimated. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record Metric(double value, Double stderr) {
    public static Metric of(double value, double stderr) {
        return new Metric(value, Double.isNaN(stderr) ? null : stderr);
    }
}
