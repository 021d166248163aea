package dev.genset.engine.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3 files: metadata in insertion order, then the tensor table, then tensor
 * data, each tensor aligned to {@code general.alignment} (default 32). Tensor bytes are streamed,
 * so files larger than the heap can be written.
 */
public final class GgufWriter {

    /** Produces exactly the tensor's bytes ({@link GgmlType#byteSize} of its elements). */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(OutputStream out) throws IOException;
    }

    private record PendingTensor(String name, long[] shape, GgmlType type, TensorData data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int version = 3;

    public GgufWriter version(int version) {
        if (version != 2 && version != 3) throw new IllegalArgumentException("GGUF version must be 2 or 3");
        this.version = version;
        return this;
    }

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String value) { return put(key, GgufValue.of(value)); }
    public GgufWriter putUInt32(String key, int value) { return put(key, GgufValue.ofUInt32(value)); }
    public GgufWriter putInt32(String key, int value) { return put(key, GgufValue.ofInt32(value)); }
    public GgufWriter putFloat32(String key, float value) { return put(key, GgufValue.ofFloat32(value)); }
    public GgufWriter putBool(String key, boolean value) { return put(key, GgufValue.ofBool(value)); }
    public GgufWriter putArray(String key, GgufValueType elementType, Object values) {
        return put(key, GgufValue.ofArray(new GgufArray(elementType, values)));
    }

    /** Copies every metadata entry of an existing file (e.g. to rewrite its tensors). */
    public GgufWriter putAll(Map<String, GgufValue> entries) {
        metadata.putAll(entries);
        return this;
    }

    public GgufWriter addTensor(String name, long[] shape, GgmlType type, TensorData data) {
        tensors.add(new PendingTensor(name, shape.clone(), type, data));
        return this;
    }

    public GgufWriter addTensor(String name, long[] shape, GgmlType type, byte[] bytes) {
        long expected = type.byteSize(elements(shape));
        if (bytes.length != expected)
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.length + " bytes given, " + expected + " expected");
        return addTensor(name, shape, type, out -> out.write(bytes));
    }

    public GgufWriter addF32(String name, long[] shape, float[] values) {
        ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(values);
        return addTensor(name, shape, GgmlType.F32, bb.array());
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private int alignment() {
        GgufValue a = metadata.get("general.alignment");
        return a == null ? GgufFile.DEFAULT_ALIGNMENT : (int) (long) a.asLong();
    }

    /** Writes to a temporary file beside {@code path} and moves it into place. */
    public void write(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".part");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                write(out);
            }
            try { // a temporary file is private; the model file should read like any other
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The header alone when tensor data writers write nothing (tests building sparse files). */
    public byte[] toBytesUnchecked() {
        var bos = new java.io.ByteArrayOutputStream();
        try {
            write(bos, false);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bos.toByteArray();
    }

    public byte[] toBytes() {
        var bos = new java.io.ByteArrayOutputStream();
        try {
            write(bos);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bos.toByteArray();
    }

    public void write(OutputStream raw) throws IOException {
        write(raw, true);
    }

    private void write(OutputStream raw, boolean checkSizes) throws IOException {
        CountingOut out = new CountingOut(raw);
        int alignment = alignment();
        out.i32(GgufFile.MAGIC);
        out.i32(version);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (var e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type().id);
            writeValue(out, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (PendingTensor t : tensors) {
            out.string(t.name);
            out.i32(t.shape.length);
            for (long d : t.shape) out.i64(d);
            out.i32(t.type.id);
            out.i64(offset);
            offset = align(offset + t.type.byteSize(elements(t.shape)), alignment);
        }
        out.pad(alignment);
        for (PendingTensor t : tensors) {
            long before = out.count;
            t.data.writeTo(out);
            long written = out.count - before;
            long expected = t.type.byteSize(elements(t.shape));
            if (checkSizes && written != expected)
                throw new IOException("tensor " + t.name + ": wrote " + written + " bytes, expected " + expected);
            if (checkSizes) out.pad(alignment);
        }
        out.flush();
    }

    private static long align(long x, int a) {
        return (x + a - 1) / a * a;
    }

    private static void writeValue(CountingOut out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.write(((Number) v).byteValue());
            case UINT16, INT16 -> out.i16(((Number) v).shortValue());
            case UINT32, INT32 -> out.i32(((Number) v).intValue());
            case UINT64, INT64 -> out.i64(((Number) v).longValue());
            case FLOAT32 -> out.i32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> out.write((Boolean) v ? 1 : 0);
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                out.i32(a.elementType().id);
                int n = a.length();
                out.i64(n);
                Object vs = a.values();
                for (int i = 0; i < n; i++) writeValue(out, a.elementType(), java.lang.reflect.Array.get(vs, i));
            }
        }
    }

    private static final class CountingOut extends OutputStream {
        final OutputStream out;
        long count;
        private final byte[] buf = new byte[8];

        CountingOut(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        void i16(short v) throws IOException {
            buf[0] = (byte) v;
            buf[1] = (byte) (v >> 8);
            write(buf, 0, 2);
        }

        void i32(int v) throws IOException {
            for (int i = 0; i < 4; i++) buf[i] = (byte) (v >> (8 * i));
            write(buf, 0, 4);
        }

        void i64(long v) throws IOException {
            for (int i = 0; i < 8; i++) buf[i] = (byte) (v >> (8 * i));
            write(buf, 0, 8);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
        }

        void pad(int alignment) throws IOException {
            while (count % alignment != 0) write(0);
        }
    }
}
