package dev.genset.engine.gguf;

/**
 * One metadata value with its GGUF type. {@code value} is a Byte, Short, Integer, Long, Float,
 * Double, Boolean or String for scalars (unsigned types keep their bits in the signed box of the
 * same width), or a {@link GgufArray} for arrays.
 */
public record GgufValue(GgufValueType type, Object value) {

    public static GgufValue of(String s) { return new GgufValue(GgufValueType.STRING, s); }
    public static GgufValue ofUInt32(int v) { return new GgufValue(GgufValueType.UINT32, v); }
    public static GgufValue ofInt32(int v) { return new GgufValue(GgufValueType.INT32, v); }
    public static GgufValue ofUInt64(long v) { return new GgufValue(GgufValueType.UINT64, v); }
    public static GgufValue ofFloat32(float v) { return new GgufValue(GgufValueType.FLOAT32, v); }
    public static GgufValue ofBool(boolean v) { return new GgufValue(GgufValueType.BOOL, v); }
    public static GgufValue ofArray(GgufArray a) { return new GgufValue(GgufValueType.ARRAY, a); }

    /** The value as a long, reading unsigned types as unsigned; null if it is not an integer. */
    public Long asLong() {
        return switch (type) {
            case UINT8 -> (long) Byte.toUnsignedInt((Byte) value);
            case UINT16 -> (long) Short.toUnsignedInt((Short) value);
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT8, INT16, INT32, INT64, UINT64 -> ((Number) value).longValue();
            case BOOL -> ((Boolean) value) ? 1L : 0L;
            default -> null;
        };
    }

    /** The value as a double if it is any number; null otherwise. */
    public Double asDouble() {
        if (type == GgufValueType.FLOAT32 || type == GgufValueType.FLOAT64) return ((Number) value).doubleValue();
        Long l = asLong();
        return l == null ? null : l.doubleValue();
    }

    @Override
    public String toString() {
        return switch (type) {
            case STRING -> '"' + (String) value + '"';
            case ARRAY -> value.toString();
            case UINT8, UINT16, UINT32 -> String.valueOf(asLong());
            case UINT64 -> Long.toUnsignedString((Long) value);
            default -> String.valueOf(value);
        };
    }
}
