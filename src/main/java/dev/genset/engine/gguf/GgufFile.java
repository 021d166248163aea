package dev.genset.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (versions 2 and 3): metadata, tensor table and the memory-mapped tensor data.
 *
 * <p>The whole file is mapped once; tensor data is never copied to the heap. Every count, length
 * and offset in the header is checked against the bytes that are really there before anything is
 * allocated, so a truncated or hostile file fails with a {@link GgufFormatException} naming the
 * problem rather than an OutOfMemoryError.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_NESTING = 8;
    static final long MAX_STRING = 1L << 30;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        // the header is read through the same kind of view as the tensors' kernels read
        Parser p = new Parser(nativeView(file));
        if (file.byteSize() < 4) throw new GgufFormatException("not a GGUF file: only " + file.byteSize() + " bytes");
        int magic = p.i32("magic");
        if (magic != MAGIC) {
            if (Integer.reverseBytes(magic) == MAGIC) throw new GgufFormatException("not a GGUF file: bad magic");
            throw new GgufFormatException(String.format("not a GGUF file: bad magic 0x%08x (expected \"GGUF\")", magic));
        }
        version = p.i32("version");
        if (version == 1) throw new GgufFormatException("GGUF version 1 is not supported (versions 2 and 3 are)");
        if (version != 2 && version != 3) {
            if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3)
                throw new GgufFormatException("big-endian GGUF files are not supported");
            throw new GgufFormatException("unsupported GGUF version " + Integer.toUnsignedString(version));
        }
        long tensorCount = p.i64("tensor count");
        long kvCount = p.i64("metadata count");
        // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor entry 8 + 4 + 4 + 8.
        if (kvCount < 0 || kvCount > p.remaining() / 13)
            throw new GgufFormatException("metadata count " + Long.toUnsignedString(kvCount) + " is impossible for a file of " + file.byteSize() + " bytes");
        if (tensorCount < 0 || tensorCount > p.remaining() / 24)
            throw new GgufFormatException("tensor count " + Long.toUnsignedString(tensorCount) + " is impossible for a file of " + file.byteSize() + " bytes");

        Map<String, GgufValue> md = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = p.string("key of metadata entry " + i);
            int typeId = p.i32("type of " + key);
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) throw new GgufFormatException("metadata " + key + ": unknown value type " + typeId);
            GgufValue value = p.value(type, key, 0);
            if (md.put(key, value) != null) throw new GgufFormatException("duplicate metadata key " + key);
        }
        metadata = Collections.unmodifiableMap(md);

        GgufValue align = md.get("general.alignment");
        if (align != null) {
            Long a = align.asLong();
            if (a == null || a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1)
                throw new GgufFormatException("general.alignment " + align + " is not a power of two");
            alignment = (int) (long) a;
        } else {
            alignment = DEFAULT_ALIGNMENT;
        }

        List<GgufTensorInfo> infos = new ArrayList<>((int) tensorCount);
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = p.string("name of tensor " + i);
            int nDims = p.i32("dimension count of tensor " + name);
            if (nDims < 0 || nDims > MAX_DIMS)
                throw new GgufFormatException("tensor " + name + ": " + Integer.toUnsignedString(nDims) + " dimensions (at most " + MAX_DIMS + ")");
            long[] shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                shape[d] = p.i64("dimension " + d + " of tensor " + name);
                if (shape[d] <= 0) throw new GgufFormatException("tensor " + name + ": dimension " + d + " is " + Long.toUnsignedString(shape[d]));
                if (elements > Long.MAX_VALUE / shape[d]) throw new GgufFormatException("tensor " + name + ": element count overflows");
                elements *= shape[d];
            }
            int typeId = p.i32("type of tensor " + name);
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) throw new GgufFormatException("tensor " + name + ": unknown ggml type " + typeId);
            if (nDims > 0 && shape[0] % type.blockSize != 0)
                throw new GgufFormatException("tensor " + name + ": first dimension " + shape[0] + " is not a multiple of the " + type + " block size " + type.blockSize);
            long offset = p.i64("offset of tensor " + name);
            if (offset < 0 || offset % alignment != 0)
                throw new GgufFormatException("tensor " + name + ": offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
            if (elements > Long.MAX_VALUE / type.typeSize) throw new GgufFormatException("tensor " + name + ": byte size overflows");
            GgufTensorInfo info = new GgufTensorInfo(name, shape, type, offset);
            if (byName.put(name, info) != null) throw new GgufFormatException("duplicate tensor name " + name);
            infos.add(info);
        }
        tensors = Collections.unmodifiableList(infos);
        tensorsByName = Collections.unmodifiableMap(byName);

        long pos = p.pos;
        dataOffset = (pos + alignment - 1) / alignment * alignment;
        long dataSize = file.byteSize() - Math.min(dataOffset, file.byteSize());
        for (GgufTensorInfo t : infos) {
            long end = t.offset() + t.byteSize();
            if (end < 0 || end > dataSize)
                throw new GgufFormatException("tensor " + t.name() + ": data [" + t.offset() + ", " + end + ") lies past the end of the file (data section is " + dataSize + " bytes; file truncated?)");
        }
    }

    /** Maps and parses a GGUF file. */
    public static GgufFile open(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
        if (Files.isDirectory(path)) throw new GgufFormatException(path + " is a directory, not a GGUF file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.size() == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (RuntimeException | IOException e) {
            arena.close();
            if (e instanceof GgufFormatException g)
                throw new GgufFormatException(path.getFileName() + ": " + g.getMessage(), g);
            throw e;
        }
    }

    private static final boolean NATIVE_ACCESS = GgufFile.class.getModule().isNativeAccessEnabled();

    /**
     * A mapped segment's bytes as an ordinary native segment (same memory, same lifetime, read-only);
     * any other segment as it is. Code that reads memory through the FFM API is compiled for the
     * segment classes it has met: with mapped and native segments both reaching the tensor kernels
     * (the repacked weights are native), the Q4_0 decode kernel ran a quarter slower (11.9 against
     * 9.0 GMAC/s, one thread; with heap segments too, 6.3). Without native access (reinterpreting is
     * restricted) the mapped segment is kept.
     */
    public static MemorySegment nativeView(MemorySegment s) {
        return s.isMapped() && NATIVE_ACCESS ? s.reinterpret(s.byteSize()) : s;
    }

    /** Parses GGUF bytes held in memory (tests, small files). */
    public static GgufFile parse(byte[] bytes) {
        return new GgufFile(null, null, MemorySegment.ofArray(bytes));
    }

    public Path path() { return path; }
    public int version() { return version; }
    public int alignment() { return alignment; }
    /** Absolute file offset of the tensor data section. */
    public long dataOffset() { return dataOffset; }
    public long fileSize() { return file.byteSize(); }
    public Map<String, GgufValue> metadata() { return metadata; }
    public List<GgufTensorInfo> tensors() { return tensors; }

    public GgufTensorInfo tensor(String name) {
        return tensorsByName.get(name);
    }

    /** The tensor's bytes, in place in the mapping. */
    public MemorySegment data(GgufTensorInfo t) {
        return file.asSlice(dataOffset + t.offset(), t.byteSize());
    }

    // ---- typed metadata access -------------------------------------------------------------

    public boolean has(String key) { return metadata.containsKey(key); }

    public GgufValue get(String key) { return metadata.get(key); }

    public String getString(String key, String dflt) {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (v.type() != GgufValueType.STRING) throw wrongType(key, v, "a string");
        return (String) v.value();
    }

    public long getLong(String key, long dflt) {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        Long l = v.asLong();
        if (l == null) throw wrongType(key, v, "an integer");
        return l;
    }

    public int getInt(String key, int dflt) {
        long l = getLong(key, dflt);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) throw new GgufFormatException("metadata " + key + " = " + l + " is out of range");
        return (int) l;
    }

    public float getFloat(String key, float dflt) {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        Double d = v.asDouble();
        if (d == null) throw wrongType(key, v, "a number");
        return d.floatValue();
    }

    public boolean getBoolean(String key, boolean dflt) {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (v.type() == GgufValueType.BOOL) return (Boolean) v.value();
        Long l = v.asLong();
        if (l == null) throw wrongType(key, v, "a boolean");
        return l != 0;
    }

    public GgufArray getArray(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) return null;
        if (v.type() != GgufValueType.ARRAY) throw wrongType(key, v, "an array");
        return (GgufArray) v.value();
    }

    public String[] getStringArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        if (a.elementType() != GgufValueType.STRING) throw new GgufFormatException("metadata " + key + " is an array of " + a.elementType() + ", expected strings");
        return (String[]) a.values();
    }

    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        if (a.values() instanceof float[] f) return f;
        throw new GgufFormatException("metadata " + key + " is an array of " + a.elementType() + ", expected float32");
    }

    /** An integer array of any element width, widened to int (unsigned 8/16-bit values stay positive). */
    public int[] getIntArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        Object vs = a.values();
        boolean unsigned = a.elementType() == GgufValueType.UINT8 || a.elementType() == GgufValueType.UINT16;
        if (vs instanceof int[] i) return i;
        int[] out;
        if (vs instanceof byte[] b) {
            out = new int[b.length];
            for (int i = 0; i < b.length; i++) out[i] = unsigned ? Byte.toUnsignedInt(b[i]) : b[i];
        } else if (vs instanceof short[] s) {
            out = new int[s.length];
            for (int i = 0; i < s.length; i++) out[i] = unsigned ? Short.toUnsignedInt(s[i]) : s[i];
        } else if (vs instanceof long[] l) {
            out = new int[l.length];
            for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        } else {
            throw new GgufFormatException("metadata " + key + " is an array of " + a.elementType() + ", expected integers");
        }
        return out;
    }

    private static GgufFormatException wrongType(String key, GgufValue v, String expected) {
        return new GgufFormatException("metadata " + key + " has type " + v.type() + ", expected " + expected);
    }

    @Override
    public void close() {
        if (arena != null) arena.close();
    }

    /** A bounds-checked little-endian cursor over the header. */
    private static final class Parser {
        final MemorySegment seg;
        long pos;

        Parser(MemorySegment seg) {
            this.seg = seg;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n, String what) {
            if (n < 0 || n > remaining())
                throw new GgufFormatException("file truncated: " + what + " at byte " + pos + " needs " + (n < 0 ? Long.toUnsignedString(n) : n) + " bytes, " + remaining() + " left");
        }

        int i32(String what) {
            need(4, what);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String what) {
            need(8, what);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        String string(String what) {
            return string(what, -1);
        }

        /**
         * A string; {@code element >= 0} names it as that element of the array {@code what}. The
         * description is only put together for an error: a vocabulary has tens of thousands of
         * strings, and building a message for each was a sizeable part of opening a file.
         */
        String string(String what, int element) {
            long len = stringLength(what, element);
            if (len < 0 || len > MAX_STRING) throw new GgufFormatException(describe(what, element) + ": string length " + Long.toUnsignedString(len) + " is absurd");
            if (len > remaining()) need(len, describe(what, element));
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, (int) len);
            pos += len;
            // Vocabulary pieces are UTF-8; an invalid sequence is replaced rather than rejected, as llama.cpp keeps going too.
            return new String(b, StandardCharsets.UTF_8);
        }

        /** A string's 64-bit length field. */
        private long stringLength(String what, int element) {
            if (8 > remaining()) need(8, "length of " + describe(what, element));
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        private static String describe(String what, int element) {
            return element < 0 ? what : "element " + element + " of " + what;
        }

        GgufValue value(GgufValueType type, String key, int depth) {
            return new GgufValue(type, switch (type) {
                case UINT8, INT8 -> { need(1, key); byte v = seg.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield v; }
                case UINT16, INT16 -> { need(2, key); short v = seg.get(I16, pos); pos += 2; yield v; }
                case UINT32, INT32 -> i32(key);
                case UINT64, INT64 -> i64(key);
                case FLOAT32 -> { need(4, key); float v = seg.get(F32, pos); pos += 4; yield v; }
                case FLOAT64 -> { need(8, key); double v = seg.get(F64, pos); pos += 8; yield v; }
                case BOOL -> {
                    need(1, key);
                    byte v = seg.get(ValueLayout.JAVA_BYTE, pos);
                    if (v != 0 && v != 1) throw new GgufFormatException("metadata " + key + ": bool value " + v + " is neither 0 nor 1");
                    pos += 1;
                    yield v != 0;
                }
                case STRING -> string("metadata " + key);
                case ARRAY -> array(key, depth + 1);
            });
        }

        GgufArray array(String key, int depth) {
            if (depth > MAX_ARRAY_NESTING) throw new GgufFormatException("metadata " + key + ": arrays nested deeper than " + MAX_ARRAY_NESTING);
            int typeId = i32("element type of " + key);
            GgufValueType et = GgufValueType.byId(typeId);
            if (et == null) throw new GgufFormatException("metadata " + key + ": unknown array element type " + typeId);
            long n = i64("length of array " + key);
            if (n < 0 || n > Integer.MAX_VALUE - 8 || n * et.minDiskSize() > remaining())
                throw new GgufFormatException("metadata " + key + ": array length " + Long.toUnsignedString(n) + " exceeds the " + remaining() + " bytes left in the file");
            int len = (int) n;
            Object values = switch (et) {
                case UINT8, INT8 -> { byte[] a = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE); pos += len; yield a; }
                case UINT16, INT16 -> { short[] a = seg.asSlice(pos, 2L * len).toArray(I16); pos += 2L * len; yield a; }
                case UINT32, INT32 -> { int[] a = seg.asSlice(pos, 4L * len).toArray(I32); pos += 4L * len; yield a; }
                case UINT64, INT64 -> { long[] a = seg.asSlice(pos, 8L * len).toArray(I64); pos += 8L * len; yield a; }
                case FLOAT32 -> { float[] a = seg.asSlice(pos, 4L * len).toArray(F32); pos += 4L * len; yield a; }
                case FLOAT64 -> { double[] a = seg.asSlice(pos, 8L * len).toArray(F64); pos += 8L * len; yield a; }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) a[i] = (Boolean) value(GgufValueType.BOOL, key, depth).value();
                    yield a;
                }
                case STRING -> {
                    String[] a = new String[len];
                    for (int i = 0; i < len; i++) a[i] = string(key, i);
                    yield a;
                }
                case ARRAY -> {
                    GgufArray[] a = new GgufArray[len];
                    for (int i = 0; i < len; i++) a[i] = array(key + "[" + i + "]", depth + 1);
                    yield a;
                }
            };
            return new GgufArray(et, values);
        }
    }
}
