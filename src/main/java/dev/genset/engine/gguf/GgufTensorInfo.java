package dev.genset.engine.gguf;

import java.util.Arrays;

/**
 * A tensor's entry in the GGUF header. {@code shape} is in ggml order: shape[0] varies fastest
 * (for a weight matrix, shape[0] is the input width and shape[1] the number of rows).
 * {@code offset} is relative to the start of the tensor data section.
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }

    /** Rows of a 2-D weight (product of all dimensions but the first). */
    public long rows() {
        return elementCount() / (shape.length == 0 ? 1 : shape[0]);
    }

    public long cols() {
        return shape.length == 0 ? 1 : shape[0];
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " @" + offset;
    }
}
