package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

/** A model uses a ggml tensor type the engine cannot compute with. */
public class UnsupportedTensorTypeException extends RuntimeException {
    public final GgmlType type;

    public UnsupportedTensorTypeException(GgmlType type) {
        super("unsupported tensor type " + type + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)");
        this.type = type;
    }
}
