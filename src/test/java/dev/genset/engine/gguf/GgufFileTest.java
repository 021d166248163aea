package dev.genset.engine.gguf;

import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {

    @Test
    void readsTheBundledModel() throws Exception {
        try (GgufFile g = GgufFile.open(TestFiles.storiesModel())) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.dataOffset()).isEqualTo(14176);
            assertThat(g.tensors()).hasSize(48);
            assertThat(g.getString("general.architecture", null)).isEqualTo("llama");
            assertThat(g.getInt("llama.embedding_length", 0)).isEqualTo(64);
            assertThat(g.getLong("tokenizer.ggml.seperator_token_id", 0)).isEqualTo(4294967295L);
            assertThat(g.getFloat("llama.attention.layer_norm_rms_epsilon", 0)).isEqualTo(9.99999975e-06f);
            assertThat(g.getStringArray("tokenizer.ggml.tokens")).hasSize(512).startsWith("<unk>", "<s>", "</s>");
            assertThat(g.getFloatArray("tokenizer.ggml.scores")[511]).isEqualTo(-252f);
            GgufTensorInfo q = g.tensor("blk.0.attn_q.weight");
            assertThat(q.shape()).containsExactly(64, 64);
            assertThat(q.type()).isEqualTo(GgmlType.F32);
            assertThat(g.data(q).byteSize()).isEqualTo(64 * 64 * 4);
        }
    }

    @Test
    void writerRoundTripsEveryValueTypeAndNestedArrays(@TempDir Path dir) throws Exception {
        GgufWriter w = new GgufWriter().version(2)
                .put("u8", new GgufValue(GgufValueType.UINT8, (byte) 200))
                .put("i8", new GgufValue(GgufValueType.INT8, (byte) -5))
                .put("u16", new GgufValue(GgufValueType.UINT16, (short) 60000))
                .put("i16", new GgufValue(GgufValueType.INT16, (short) -300))
                .putUInt32("u32", -1)
                .putInt32("i32", -7)
                .putFloat32("f32", 1.5f)
                .putBool("b", true)
                .putString("s", "héllo ▁ 🦙")
                .put("u64", GgufValue.ofUInt64(1L << 40))
                .put("i64", new GgufValue(GgufValueType.INT64, -(1L << 40)))
                .put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI))
                .putArray("floats", GgufValueType.FLOAT32, new float[] {1f, 2f, 3f})
                .putArray("strings", GgufValueType.STRING, new String[] {"a", "", "c"})
                .putArray("bools", GgufValueType.BOOL, new boolean[] {true, false})
                .putArray("nested", GgufValueType.ARRAY, new GgufArray[] {
                        new GgufArray(GgufValueType.INT32, new int[] {1, 2}),
                        new GgufArray(GgufValueType.STRING, new String[] {"x"})})
                .addF32("t.weight", new long[] {4, 2}, new float[] {1, 2, 3, 4, 5, 6, 7, 8})
                .addF32("t.bias", new long[] {3}, new float[] {9, 10, 11});
        Path file = dir.resolve("all.gguf");
        w.write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertThat(g.version()).isEqualTo(2);
            assertThat(g.getLong("u8", 0)).isEqualTo(200);
            assertThat(g.getLong("i8", 0)).isEqualTo(-5);
            assertThat(g.getLong("u16", 0)).isEqualTo(60000);
            assertThat(g.getLong("i16", 0)).isEqualTo(-300);
            assertThat(g.getLong("u32", 0)).isEqualTo(4294967295L);
            assertThat(g.getInt("i32", 0)).isEqualTo(-7);
            assertThat(g.getFloat("f32", 0)).isEqualTo(1.5f);
            assertThat(g.getBoolean("b", false)).isTrue();
            assertThat(g.getString("s", null)).isEqualTo("héllo ▁ 🦙");
            assertThat(g.getLong("u64", 0)).isEqualTo(1L << 40);
            assertThat(g.getLong("i64", 0)).isEqualTo(-(1L << 40));
            assertThat(g.get("f64").asDouble()).isEqualTo(Math.PI);
            assertThat(g.getFloatArray("floats")).containsExactly(1f, 2f, 3f);
            assertThat(g.getStringArray("strings")).containsExactly("a", "", "c");
            assertThat((boolean[]) g.getArray("bools").values()).containsExactly(true, false);
            GgufArray[] nested = (GgufArray[]) g.getArray("nested").values();
            assertThat((int[]) nested[0].values()).containsExactly(1, 2);
            assertThat((String[]) nested[1].values()).containsExactly("x");
            GgufTensorInfo t = g.tensor("t.weight");
            assertThat(t.rows()).isEqualTo(2);
            assertThat(t.cols()).isEqualTo(4);
            assertThat(g.data(g.tensor("t.bias")).get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 8)).isEqualTo(11f);
            assertThat(g.tensor("t.bias").offset() % 32).isZero();
        }
        // Writing what was read gives the same bytes.
        try (GgufFile g = GgufFile.open(file)) {
            GgufWriter again = new GgufWriter().version(2).putAll(g.metadata());
            for (GgufTensorInfo t : g.tensors()) {
                byte[] bytes = g.data(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                again.addTensor(t.name(), t.shape(), t.type(), bytes);
            }
            assertThat(again.toBytes()).isEqualTo(Files.readAllBytes(file));
        }
    }

    @Test
    void honoursGeneralAlignment() {
        byte[] bytes = new GgufWriter().putUInt32("general.alignment", 64)
                .addF32("a", new long[] {3}, new float[] {1, 2, 3})
                .addF32("b", new long[] {1}, new float[] {4}).toBytes();
        GgufFile g = GgufFile.parse(bytes);
        assertThat(g.alignment()).isEqualTo(64);
        assertThat(g.dataOffset() % 64).isZero();
        assertThat(g.tensor("b").offset()).isEqualTo(64);
    }

    @Test
    void largeFileOffsetsAreLongs(@TempDir Path dir) throws Exception {
        // A sparse file over 4 GiB: the tensor lies past 2^32, which int offsets could not address.
        long elements = (5L << 30) / 4;
        Path file = dir.resolve("big.gguf");
        byte[] header = new GgufWriter().addTensor("huge", new long[] {elements}, GgmlType.F32, out -> {}).toBytesUnchecked();
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.wrap(header));
            ByteBuffer last = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(42f).flip();
            ch.write(last, header.length + elements * 4 - 4);
        }
        try (GgufFile g = GgufFile.open(file)) {
            var t = g.tensor("huge");
            assertThat(g.data(t).byteSize()).isEqualTo(elements * 4);
            assertThat(g.data(t).get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, elements * 4 - 4)).isEqualTo(42f);
        }
    }

    // ---- hostile input --------------------------------------------------------------------------

    private static byte[] header(int version, long tensors, long kvs) {
        return ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putInt(GgufFile.MAGIC).putInt(version).putLong(tensors).putLong(kvs).array();
    }

    private static byte[] concat(byte[]... parts) {
        var out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static byte[] le(Object... values) {
        var out = new java.io.ByteArrayOutputStream();
        for (Object v : values) {
            ByteBuffer b;
            if (v instanceof Integer i) b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(i);
            else if (v instanceof Long l) b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(l);
            else if (v instanceof String s) {
                byte[] sb = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                b = ByteBuffer.allocate(8 + sb.length).order(ByteOrder.LITTLE_ENDIAN).putLong(sb.length).put(sb);
            } else throw new IllegalArgumentException();
            out.writeBytes(b.array());
        }
        return out.toByteArray();
    }

    private static void rejects(byte[] bytes, String messagePart) {
        assertThatThrownBy(() -> GgufFile.parse(bytes)).isInstanceOf(GgufFormatException.class).hasMessageContaining(messagePart);
    }

    @Test
    void rejectsNonGguf() {
        rejects("hello world, not a model".getBytes(), "not a GGUF file: bad magic");
        rejects(new byte[] {1, 2}, "not a GGUF file");
        rejects(new byte[0], "not a GGUF file");
    }

    @Test
    void rejectsUnsupportedVersions() {
        rejects(header(1, 0, 0), "GGUF version 1 is not supported");
        rejects(header(7, 0, 0), "unsupported GGUF version 7");
        rejects(header(Integer.reverseBytes(3), 0, 0), "big-endian");
    }

    @Test
    void rejectsAbsurdCounts() {
        rejects(header(3, 0, 1L << 60), "metadata count 1152921504606846976 is impossible");
        rejects(header(3, -1, 0), "tensor count 18446744073709551615 is impossible");
    }

    @Test
    void rejectsAbsurdStringAndArrayLengths() {
        rejects(concat(header(3, 0, 1), le(Long.MAX_VALUE), new byte[16]), "string length 9223372036854775807 is absurd");
        rejects(concat(header(3, 0, 1), le(1000L), new byte[16]), "file truncated");
        rejects(concat(header(3, 0, 1), le("k", 9, 6, 1L << 40)), "array length 1099511627776 exceeds");
        rejects(concat(header(3, 0, 1), le("k", 9, 8, 1L << 33)), "array length 8589934592 exceeds");
        // an element of a string array (a vocabulary) is named in the message
        rejects(concat(header(3, 0, 1), le("k", 9, 8, 2L, "a", Long.MAX_VALUE), new byte[16]), "element 1 of k: string length 9223372036854775807 is absurd");
        rejects(concat(header(3, 0, 1), le("k", 9, 8, 2L, "a", 1000L), new byte[16]), "file truncated: element 1 of k");
    }

    @Test
    void rejectsUnknownTypes() {
        rejects(concat(header(3, 0, 1), le("k", 13, 0)), "metadata k: unknown value type 13");
        rejects(concat(header(3, 0, 1), le("k", 9, 77, 0L)), "unknown array element type 77");
        rejects(concat(header(3, 1, 0), le("w", 1, 32L, 99, 0L)), "tensor w: unknown ggml type 99");
    }

    @Test
    void rejectsDeepNesting() {
        byte[] nest = le("k", 9);
        for (int i = 0; i < 20; i++) nest = concat(nest, le(9, 1L));
        rejects(concat(header(3, 0, 1), nest), "nested deeper");
    }

    @Test
    void rejectsBadTensorInfos() {
        rejects(concat(header(3, 1, 0), le("w", 5, 1L, 1L, 1L, 1L, 1L, 0, 0L)), "tensor w: 5 dimensions");
        rejects(concat(header(3, 1, 0), le("w", 1, -4L, 0, 0L)), "tensor w: dimension 0 is 18446744073709551612");
        rejects(concat(header(3, 1, 0), le("w", 1, 33L, 8, 0L)), "not a multiple of the Q8_0 block size 32");
        rejects(concat(header(3, 1, 0), le("w", 1, 8L, 0, 7L)), "offset 7 is not a multiple of the alignment 32");
        rejects(concat(header(3, 1, 0), le("w", 1, 8L, 0, 0L)), "tensor w: data [0, 32) lies past the end of the file");
        rejects(concat(header(3, 1, 0), le("w", 4, 1L << 20, 1L << 20, 1L << 20, 1L << 20, 0, 0L)), "element count overflows");
        rejects(concat(header(3, 2, 0), le("w", 1, 8L, 0, 0L, "w", 1, 8L, 0, 0L)), "duplicate tensor name w");
    }

    @Test
    void rejectsBadAlignmentAndBools() {
        rejects(concat(header(3, 0, 1), le("general.alignment", 4, 3)), "general.alignment 3 is not a power of two");
        rejects(concat(header(3, 0, 1), le("b", 7), new byte[] {5}), "bool value 5");
    }

    @Test
    void everyTruncationOfTheBundledModelFailsCleanly() throws Exception {
        byte[] full = Files.readAllBytes(TestFiles.storiesModel());
        // Every cut inside the header, and a spread of cuts inside the tensor data.
        for (int len = 0; len < full.length; len += len < 14200 ? 1 : 4099) {
            byte[] cut = java.util.Arrays.copyOf(full, len);
            assertThatThrownBy(() -> GgufFile.parse(cut)).as("cut at %d", len).isInstanceOf(GgufFormatException.class)
                    .hasMessageFindingMatch("truncated|past the end|not a GGUF file|impossible for a file|exceeds the .* bytes left");
        }
    }

    @Test
    void bitFlippedHeadersNeverCrash() throws Exception {
        byte[] full = Files.readAllBytes(TestFiles.storiesModel());
        java.util.Random random = new java.util.Random(1234);
        int accepted = 0, rejected = 0;
        for (int trial = 0; trial < 3000; trial++) {
            byte[] copy = full.clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                int pos = random.nextInt(14176); // the header
                copy[pos] ^= (byte) (1 << random.nextInt(8));
            }
            try {
                GgufFile.parse(copy);
                accepted++; // a flip inside a string or a float can leave a valid file
            } catch (GgufFormatException e) {
                assertThat(e.getMessage()).isNotBlank();
                rejected++;
            }
        }
        assertThat(rejected).isGreaterThan(100);
        assertThat(accepted + rejected).isEqualTo(3000);
    }

    @Test
    void openNamesMissingFilesAndDirectories(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> GgufFile.open(dir.resolve("nope.gguf"))).isInstanceOf(java.nio.file.NoSuchFileException.class);
        assertThatThrownBy(() -> GgufFile.open(dir)).isInstanceOf(GgufFormatException.class).hasMessageContaining("is a directory");
        Path empty = dir.resolve("empty.gguf");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> GgufFile.open(empty)).isInstanceOf(GgufFormatException.class).hasMessage("empty.gguf: not a GGUF file: only 0 bytes");
    }
}
