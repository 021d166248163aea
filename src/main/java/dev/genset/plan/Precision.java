package dev.genset.plan;

import dev.genset.plan.Catalogue.Accelerator;

import java.util.Locale;

/** Storage precision of weights or KV cache, and the tensor-core rate it computes at. */
public enum Precision {
    BF16(2), FP16(2), FP8(1), INT8(1), INT4(0.5);

    public final double bytes;

    Precision(double bytes) { this.bytes = bytes; }

    public String id() { return name().toLowerCase(Locale.ROOT); }

    public static Precision parse(String text, String flag) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(flag + ": unknown precision '" + text + "' (use bf16, fp16, fp8, int8 or int4)");
        }
    }

    /** The precision matrix products run at when weights are stored in this one. */
    public record Compute(double tflops, String what) {}

    /**
     * FP8 and INT8 weights run at the FP8 / INT8 tensor rate (W8A8) where the part has one; INT4 is
     * weight-only quantization (dequantized to 16-bit for the product), so it runs at the BF16 rate.
     */
    public Compute compute(Accelerator a) {
        return switch (this) {
            case FP8 -> a.fp8Tflops() != null ? new Compute(a.fp8Tflops(), "fp8_tflops")
                    : new Compute(a.bf16Tflops(), "bf16_tflops (" + a.id() + " has no FP8 rate: FP8 weights upcast to 16-bit)");
            case INT8 -> a.int8Tops() != null ? new Compute(a.int8Tops(), "int8_tops")
                    : new Compute(a.bf16Tflops(), "bf16_tflops (" + a.id() + " has no INT8 rate)");
            case INT4 -> new Compute(a.bf16Tflops(), "bf16_tflops (INT4 is weight-only: products run in 16-bit)");
            case FP16 -> new Compute(a.fp16Tflops() != null ? a.fp16Tflops() : a.bf16Tflops(), "fp16_tflops");
            case BF16 -> new Compute(a.bf16Tflops(), "bf16_tflops");
        };
    }
}
