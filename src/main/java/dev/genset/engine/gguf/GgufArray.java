package dev.genset.engine.gguf;

import java.lang.reflect.Array;

/**
 * A GGUF metadata array. {@code values} is a primitive array of the element width (byte[] for
 * (U)INT8, short[], int[], long[], float[], double[], boolean[]), a String[], or a GgufArray[] for
 * nested arrays. Large vocabularies stay as compact primitive arrays this way.
 */
public record GgufArray(GgufValueType elementType, Object values) {

    public int length() {
        return Array.getLength(values);
    }

    @Override
    public String toString() {
        int n = length();
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Math.min(n, 8); i++) {
            if (i > 0) sb.append(", ");
            Object v = Array.get(values, i);
            sb.append(v instanceof String s ? '"' + s + '"' : String.valueOf(v));
        }
        if (n > 8) sb.append(", ... (").append(n).append(" ").append(elementType.name().toLowerCase()).append(")");
        return sb.append(']').toString();
    }
}
