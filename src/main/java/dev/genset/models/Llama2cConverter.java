package dev.genset.models;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufValueType;
import dev.genset.engine.gguf.GgufWriter;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Converts a llama2.c checkpoint (the legacy float32 format: a 7-int header, then the weights) and
 * its tokenizer to GGUF exactly as llama.cpp's {@code convert-llama2c-to-ggml} lays it out: the same
 * metadata keys, types and order, tensor names, shapes and order, token texts, scores and types. The
 * bundled stories260K.gguf was made by that tool; converting its source files here gives the same bytes.
 */
public final class Llama2cConverter {
    /** What llama.cpp's converter writes as the context length unless told otherwise. */
    public static final int DEFAULT_CONTEXT_LENGTH = 128;
    private static final int HEADER_BYTES = 7 * 4;
    private static final int TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_BYTE = 6;

    private Llama2cConverter() {}

    /**
     * The checkpoint header. {@code vocabSize} is positive here; {@code sharedWeights} says whether
     * the classifier is the embedding (the file stores a negative vocabulary size when it is not).
     */
    public record Config(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen, boolean sharedWeights) {
        int multiQueries() {
            return nKvHeads <= 0 || nKvHeads >= nHeads ? 1 : nHeads / nKvHeads;
        }

        long kvDim() {
            return (long) dim / multiQueries();
        }

        int headSize() {
            return dim / nHeads;
        }

        /** Float count of the weights in file order, without the classifier. */
        long weightFloats() {
            long d = dim, l = nLayers, h = hiddenDim;
            return vocabSize * d + l * d + l * d * d + 2 * l * d * kvDim() + l * d * d + l * d + 3 * l * h * d + d
                    + (long) seqLen * headSize(); // freq_cis_real and freq_cis_imag, skipped
        }

        long expectedFileSize() {
            return HEADER_BYTES + 4 * (weightFloats() + (sharedWeights ? 0 : (long) vocabSize * dim));
        }
    }

    /** Reads and checks the header; fails with a one-line reason if the file is not a legacy llama2.c checkpoint. */
    public static Config readConfig(Path checkpoint) throws IOException {
        if (!Files.isRegularFile(checkpoint)) throw new NoSuchFileException(checkpoint.toString());
        long size = Files.size(checkpoint);
        if (size < HEADER_BYTES) throw new ModelStoreException(checkpoint.getFileName() + " is neither GGUF nor a llama2.c checkpoint (only " + size + " bytes)");
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
            while (h.hasRemaining() && ch.read(h) >= 0) { /* fill */ }
        }
        h.flip();
        int magic = h.getInt(0);
        if (magic == 0x616b3432) // "ak42": llama2.c's versioned export
            throw new ModelStoreException(checkpoint.getFileName() + " is a llama2.c version-1/2 export; llama.cpp's converter (and this one) read the legacy format (export.py --version 0)");
        int[] v = new int[7];
        for (int i = 0; i < 7; i++) v[i] = h.getInt();
        boolean shared = v[5] > 0;
        Config c = new Config(v[0], v[1], v[2], v[3], v[4], Math.abs(v[5]), v[6], shared);
        if (c.dim() <= 0 || c.hiddenDim() <= 0 || c.nLayers() <= 0 || c.nHeads() <= 0 || c.nKvHeads() < 0 || c.vocabSize() <= 0 || c.seqLen() <= 0
                || c.dim() % c.nHeads() != 0 || c.dim() > 1 << 16 || c.hiddenDim() > 1 << 20 || c.nLayers() > 1024 || c.vocabSize() > 1 << 24 || c.seqLen() > 1 << 24)
            throw new ModelStoreException(checkpoint.getFileName() + " is neither GGUF nor a llama2.c checkpoint (implausible header " + java.util.Arrays.toString(v) + ")");
        if (c.expectedFileSize() != size)
            throw new ModelStoreException(checkpoint.getFileName() + ": a llama2.c checkpoint with header dim=" + c.dim() + " hidden_dim=" + c.hiddenDim()
                    + " n_layers=" + c.nLayers() + " n_heads=" + c.nHeads() + " n_kv_heads=" + c.nKvHeads() + " vocab_size=" + v[5] + " seq_len=" + c.seqLen()
                    + " has " + c.expectedFileSize() + " bytes, this file " + size);
        return c;
    }

    /** A vocabulary as the converter stores it. */
    record Vocab(String[] tokens, float[] scores, int[] types) {}

    /**
     * Reads a tokenizer: llama2.c's tokenizer.bin (max token length, then score, length and bytes per
     * token) or, as llama.cpp's --copy-vocab-from-model allows, a GGUF model's vocabulary.
     */
    static Vocab readVocab(Path tokenizer, int vocabSize) throws IOException {
        if (!Files.isRegularFile(tokenizer)) throw new NoSuchFileException(tokenizer.toString(), null, "tokenizer not found");
        byte[] bytes = Files.readAllBytes(tokenizer);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length >= 4 && b.getInt(0) == GgufFile.MAGIC) {
            try (GgufFile g = GgufFile.open(tokenizer)) {
                String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
                if (tokens == null) throw new ModelStoreException(tokenizer.getFileName() + " has no tokenizer.ggml.tokens");
                float[] scores = g.getFloatArray("tokenizer.ggml.scores");
                int[] types = g.getIntArray("tokenizer.ggml.token_type");
                float[] s = new float[tokens.length];
                int[] t = new int[tokens.length];
                for (int i = 0; i < tokens.length; i++) {
                    s[i] = scores != null ? scores[i] : 0f;
                    t[i] = types != null ? types[i] : TOKEN_NORMAL;
                }
                if (tokens.length != vocabSize)
                    throw new ModelStoreException(tokenizer.getFileName() + " has " + tokens.length + " tokens, the checkpoint " + vocabSize);
                return new Vocab(tokens, s, t);
            }
        }
        String[] tokens = new String[vocabSize];
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        try {
            b.getInt(); // max token length, unused
            for (int id = 0; id < vocabSize; id++) {
                float score = b.getFloat();
                int len = b.getInt();
                if (len < 0 || len > b.remaining()) throw new java.nio.BufferUnderflowException();
                byte[] piece = new byte[len];
                b.get(piece);
                String text = new String(piece, StandardCharsets.UTF_8);
                int type;
                if (id == 0) {
                    text = "<unk>";
                    type = TOKEN_UNKNOWN;
                } else if (id == 1) {
                    text = "<s>";
                    type = TOKEN_CONTROL;
                } else if (id == 2) {
                    text = "</s>";
                    type = TOKEN_CONTROL;
                } else if (text.isEmpty()) {
                    type = TOKEN_CONTROL;
                } else if (isByteToken(text)) {
                    type = TOKEN_BYTE;
                } else {
                    type = TOKEN_NORMAL;
                }
                tokens[id] = text.replace(" ", "\u2581");
                scores[id] = score;
                types[id] = type;
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new ModelStoreException(tokenizer.getFileName() + " is not a llama2.c tokenizer for " + vocabSize + " tokens (it ends too early)");
        }
        return new Vocab(tokens, scores, types);
    }

    /** What sscanf(text, "<0x%02hhX>") accepts: "<0x" and at least one hex digit. */
    private static boolean isByteToken(String text) {
        return text.length() > 3 && text.startsWith("<0x") && Character.digit(text.charAt(3), 16) >= 0;
    }

    /** Converts {@code checkpoint} with {@code tokenizer} to the GGUF file {@code out}. */
    public static void convert(Path checkpoint, Path tokenizer, Path out, int contextLength) throws IOException {
        Config c = readConfig(checkpoint);
        Vocab vocab = readVocab(tokenizer, c.vocabSize());
        int nRot = Math.min(64, c.dim() / c.nHeads());
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            long d = c.dim(), l = c.nLayers(), hid = c.hiddenDim(), kv = c.kvDim(), v = c.vocabSize();
            // float offsets of the checkpoint's arrays, in file order
            long emb = 0, rmsAtt = emb + v * d, wq = rmsAtt + l * d, wk = wq + l * d * d, wv = wk + l * d * kv, wo = wv + l * d * kv,
                    rmsFfn = wo + l * d * d, w1 = rmsFfn + l * d, w2 = w1 + l * hid * d, w3 = w2 + l * d * hid, rmsFinal = w3 + l * hid * d,
                    wcls = rmsFinal + d + (long) c.seqLen() * c.headSize();

            GgufWriter w = new GgufWriter();
            w.putArray("tokenizer.ggml.tokens", GgufValueType.STRING, vocab.tokens());
            w.putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, vocab.scores());
            w.putArray("tokenizer.ggml.token_type", GgufValueType.INT32, vocab.types());
            w.putString("tokenizer.ggml.model", "llama");
            w.putString("general.architecture", "llama");
            w.putString("general.name", "llama");
            w.putUInt32("tokenizer.ggml.unknown_token_id", 0);
            w.putUInt32("tokenizer.ggml.bos_token_id", 1);
            w.putUInt32("tokenizer.ggml.eos_token_id", 2);
            w.putUInt32("tokenizer.ggml.seperator_token_id", -1);
            w.putUInt32("tokenizer.ggml.padding_token_id", -1);
            w.putUInt32("llama.context_length", contextLength);
            w.putUInt32("llama.embedding_length", c.dim());
            w.putUInt32("llama.feed_forward_length", c.hiddenDim());
            w.putUInt32("llama.attention.head_count", c.nHeads());
            w.putUInt32("llama.attention.head_count_kv", c.nKvHeads());
            w.putUInt32("llama.block_count", c.nLayers());
            w.putUInt32("llama.rope.dimension_count", nRot);
            w.putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);

            w.addTensor("token_embd.weight", new long[] {d, v}, GgmlType.F32, slice(file, emb, v * d));
            w.addTensor("output_norm.weight", new long[] {d}, GgmlType.F32, slice(file, rmsFinal, d));
            w.addTensor("output.weight", new long[] {d, v}, GgmlType.F32, slice(file, c.sharedWeights() ? emb : wcls, v * d));
            for (int i = 0; i < c.nLayers(); i++) {
                String p = "blk." + i + ".";
                w.addTensor(p + "attn_q.weight", new long[] {d, d}, GgmlType.F32, slice(file, wq + i * d * d, d * d));
                w.addTensor(p + "attn_k.weight", new long[] {d, kv}, GgmlType.F32, slice(file, wk + i * d * kv, d * kv));
                w.addTensor(p + "attn_v.weight", new long[] {d, kv}, GgmlType.F32, slice(file, wv + i * d * kv, d * kv));
                w.addTensor(p + "attn_output.weight", new long[] {d, d}, GgmlType.F32, slice(file, wo + i * d * d, d * d));
                w.addTensor(p + "attn_norm.weight", new long[] {d}, GgmlType.F32, slice(file, rmsAtt + i * d, d));
                w.addTensor(p + "ffn_gate.weight", new long[] {d, hid}, GgmlType.F32, slice(file, w1 + i * hid * d, hid * d));
                w.addTensor(p + "ffn_down.weight", new long[] {hid, d}, GgmlType.F32, slice(file, w2 + i * d * hid, d * hid));
                w.addTensor(p + "ffn_up.weight", new long[] {d, hid}, GgmlType.F32, slice(file, w3 + i * hid * d, hid * d));
                w.addTensor(p + "ffn_norm.weight", new long[] {d}, GgmlType.F32, slice(file, rmsFfn + i * d, d));
            }
            w.write(out);
        }
    }

    /** Streams {@code floats} little-endian floats starting at float index {@code at} after the header. */
    private static GgufWriter.TensorData slice(MemorySegment file, long at, long floats) {
        return out -> {
            long off = HEADER_BYTES + 4 * at, len = 4 * floats;
            byte[] buf = new byte[(int) Math.min(len, 1 << 20)];
            for (long done = 0; done < len; ) {
                int n = (int) Math.min(buf.length, len - done);
                MemorySegment.copy(file, ValueLayout.JAVA_BYTE, off + done, buf, 0, n);
                out.write(buf, 0, n);
                done += n;
            }
        };
    }

    /** True if the file starts with the GGUF magic. */
    public static boolean isGguf(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] m = in.readNBytes(4);
            return m.length == 4 && ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).getInt() == GgufFile.MAGIC;
        }
    }
}
