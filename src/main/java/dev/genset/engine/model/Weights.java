package dev.genset.engine.model;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufFormatException;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.tensor.FloatTensor;
import dev.genset.engine.tensor.MatMul;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tensor.UnsupportedTensorTypeException;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.BooleanSupplier;

/**
 * The tensors of a Llama-family model, named as in GGUF. Matrices stay in the memory-mapped file
 * in their stored type; the small per-channel vectors (norms, biases) are copied to float arrays.
 */
public record Weights(
        FloatTensor tokenEmbedding,   // token_embd.weight  [vocab rows x dim]
        float[] outputNorm,           // output_norm.weight [dim]
        FloatTensor output,           // output.weight      [vocab rows x dim], or token_embd when tied
        Layer[] layers) {

    public record Layer(
            float[] attnNorm,         // [dim]
            FloatTensor wq,           // [qDim rows x dim]
            FloatTensor wk,           // [kvDim rows x dim]
            FloatTensor wv,           // [kvDim rows x dim]
            FloatTensor wo,           // [dim rows x qDim]
            float[] bq, float[] bk, float[] bv, // Qwen2 biases, else null
            float[] qNorm, float[] kNorm,       // Qwen3 per-head norms [headDim], else null
            float[] ffnNorm,          // [dim]
            FloatTensor wGate,        // [ffn rows x dim], null in a mixture of experts
            FloatTensor wUp,          // [ffn rows x dim], null in a mixture of experts
            FloatTensor wDown,        // [dim rows x ffn], null in a mixture of experts
            FloatTensor router,       // ffn_gate_inp: [experts rows x dim], else null
            FloatTensor[] expertGate, // each expert's gate [ffn rows x dim] (slices of ffn_gate_exps), else null
            FloatTensor[] expertUp,   // each expert's up [ffn rows x dim]
            FloatTensor[] expertDown) { // each expert's down [dim rows x ffn]

        /** The layer's matrices, its experts' included. */
        java.util.List<FloatTensor> matrices() {
            var all = new java.util.ArrayList<FloatTensor>(java.util.List.of(wq, wk, wv, wo));
            if (router == null) all.addAll(java.util.List.of(wGate, wUp, wDown));
            else {
                all.add(router);
                for (int e = 0; e < expertGate.length; e++) all.addAll(java.util.List.of(expertGate[e], expertUp[e], expertDown[e]));
            }
            return all;
        }
    }

    /** Frees what the matrices allocated beside the mapped file (repacked forms); called when the model closes. */
    void release() {
        tokenEmbedding.release();
        output.release();
        for (Layer l : layers)
            for (FloatTensor t : l.matrices()) t.release();
    }

    public static Weights load(GgufFile gguf, ModelConfig c) {
        FloatTensor embd = matrix(gguf, "token_embd.weight", c.vocabSize(), c.dim());
        FloatTensor out = gguf.tensor("output.weight") != null ? matrix(gguf, "output.weight", c.vocabSize(), c.dim()) : embd;
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String b = "blk." + i + ".";
            layers[i] = new Layer(
                    vector(gguf, b + "attn_norm.weight", c.dim()),
                    matrix(gguf, b + "attn_q.weight", c.qDim(), c.dim()),
                    matrix(gguf, b + "attn_k.weight", c.kvDim(), c.dim()),
                    matrix(gguf, b + "attn_v.weight", c.kvDim(), c.dim()),
                    matrix(gguf, b + "attn_output.weight", c.dim(), c.qDim()),
                    c.qkvBias() ? vector(gguf, b + "attn_q.bias", c.qDim()) : null,
                    c.qkvBias() ? vector(gguf, b + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? vector(gguf, b + "attn_v.bias", c.kvDim()) : null,
                    c.qkNorm() ? vector(gguf, b + "attn_q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? vector(gguf, b + "attn_k_norm.weight", c.headDim()) : null,
                    vector(gguf, b + "ffn_norm.weight", c.dim()),
                    c.moe() ? null : matrix(gguf, b + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    c.moe() ? null : matrix(gguf, b + "ffn_up.weight", c.ffnDim(), c.dim()),
                    c.moe() ? null : matrix(gguf, b + "ffn_down.weight", c.dim(), c.ffnDim()),
                    c.moe() ? matrix(gguf, b + "ffn_gate_inp.weight", c.experts(), c.dim()) : null,
                    c.moe() ? experts(gguf, b + "ffn_gate_exps.weight", c.ffnDim(), c.dim(), c.experts()) : null,
                    c.moe() ? experts(gguf, b + "ffn_up_exps.weight", c.ffnDim(), c.dim(), c.experts()) : null,
                    c.moe() ? experts(gguf, b + "ffn_down_exps.weight", c.dim(), c.ffnDim(), c.experts()) : null);
        }
        Weights w = new Weights(embd, vector(gguf, "output_norm.weight", c.dim()), out, layers);
        if (!Boolean.parseBoolean(System.getProperty("genset.repack", "true")))
            for (FloatTensor m : w.matrices()) m.keepStored();
        else if (repackedBytes(w) > 0)
            limitRepacking(w, gguf.fileSize(), physicalMemory());
        return w;
    }

    /**
     * Makes the repacked forms of the matrices ({@link MatMul#repack}) in the order a forward pass
     * first multiplies them, layer by layer and the output last, until {@code stop} says so; a form
     * a forward pass reached first is left as it made it.
     */
    void repack(ModelConfig c, Parallel pool, BooleanSupplier stop) {
        for (Layer l : layers) {
            for (FloatTensor m : new FloatTensor[] {l.wq(), l.wk(), l.wv()}) {
                if (stop.getAsBoolean()) return;
                MatMul.repack(m, c.dim(), pool);
            }
            MatMul.repack(l.wo(), c.qDim(), pool);
            if (l.router() == null) {
                MatMul.repack(l.wGate(), c.dim(), pool);
                MatMul.repack(l.wUp(), c.dim(), pool);
                MatMul.repack(l.wDown(), c.ffnDim(), pool);
            } else {
                MatMul.repack(l.router(), c.dim(), pool);
                for (int e = 0; e < l.expertGate().length && !stop.getAsBoolean(); e++) {
                    MatMul.repack(l.expertGate()[e], c.dim(), pool);
                    MatMul.repack(l.expertUp()[e], c.dim(), pool);
                    MatMul.repack(l.expertDown()[e], c.ffnDim(), pool);
                }
            }
        }
        if (!stop.getAsBoolean()) MatMul.repack(output, c.dim(), pool);
    }

    /**
     * Tells every matrix whether a repacking ahead of use is to make its repacked form
     * ({@link FloatTensor#expectRepackingAhead}); returns whether those that can do without it
     * meanwhile hold most of the values of those to repack.
     */
    boolean expectRepackingAhead(boolean ahead) {
        long without = 0, all = 0;
        for (FloatTensor m : matrices()) {
            if (m.expectRepackingAhead(ahead)) without += m.size();
            if (m.repackedBytes() > 0) all += m.size();
        }
        return 2 * without > all;
    }

    /** The matrices products are taken with (the embedding only when the output shares it). */
    java.util.List<FloatTensor> matrices() {
        var all = new java.util.ArrayList<FloatTensor>();
        all.add(output);
        for (Layer l : layers) all.addAll(l.matrices());
        return all;
    }

    private static final System.Logger LOG = System.getLogger(Weights.class.getName());

    /**
     * Keeps every matrix that can stay in its stored form there when the repacked forms the
     * kernels would make ({@link FloatTensor#repackedBytes}, up to three times a Q3_K tensor's size)
     * would not fit in this machine's memory beside the rest of the mapped file (a packed range's
     * file pages are released once it is packed): a model that runs slower beats one the system
     * kills. Returns whether it did.
     */
    static boolean limitRepacking(Weights w, long fileBytes, long physicalBytes) {
        long repacked = repackedBytes(w), packedFrom = 0;
        for (FloatTensor m : w.matrices()) if (m.repackedBytes() > 0) packedFrom += m.segment().byteSize();
        if (repacked == 0 || physicalBytes <= 0 || fileBytes - packedFrom + repacked <= physicalBytes * 9 / 10) return false;
        for (FloatTensor m : w.matrices()) m.keepStored();
        LOG.log(System.Logger.Level.WARNING, String.format(
                "repacking this model's matrices for the fast kernels would take %.1f GiB beside the %.1f GiB file, more than this machine's %.1f GiB allow; "
                        + "those that can are multiplied from their stored form instead (slower)", repacked / 0x1p30, fileBytes / 0x1p30, physicalBytes / 0x1p30));
        return true;
    }

    static long repackedBytes(Weights w) {
        long sum = 0;
        for (FloatTensor m : w.matrices()) sum += m.repackedBytes();
        return sum;
    }

    /**
     * This machine's memory, or its container's limit if lower. On Linux read from /proc/meminfo
     * and the cgroup's limit: the management bean says the same but took a cold JVM about 70 ms
     * to load, a tenth of a model's first token. Elsewhere the bean; -1 if nothing answers.
     */
    static long physicalMemory() {
        long total = -1, limit = Long.MAX_VALUE;
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo")))
                if (line.startsWith("MemTotal:")) total = Long.parseLong(line.substring(9).strip().split(" ")[0]) * 1024;  // "MemTotal:  N kB"
            // cgroup v2, then v1 (whose "no limit" is a number near 2^63)
            for (String file : new String[] {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
                java.nio.file.Path max = java.nio.file.Path.of(file);
                if (!java.nio.file.Files.isReadable(max)) continue;
                String v = java.nio.file.Files.readString(max).strip();
                if (!v.equals("max")) limit = Math.min(limit, Long.parseLong(v));
            }
        } catch (java.io.IOException | RuntimeException e) {
            total = -1;
        }
        if (total > 0) return Math.min(total, limit);
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize() : -1;
    }

    private static GgufTensorInfo find(GgufFile gguf, String name) {
        GgufTensorInfo t = gguf.tensor(name);
        if (t == null) throw new GgufFormatException("tensor " + name + " is missing");
        return t;
    }

    static FloatTensor matrix(GgufFile gguf, String name, int rows, int cols) {
        GgufTensorInfo t = find(gguf, name);
        if (t.shape().length != 2 || t.cols() != cols || t.rows() != rows)
            throw new GgufFormatException("tensor " + name + " has shape " + java.util.Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
        try {
            return FloatTensor.of(t.type(), gguf.data(t), t.elementCount());
        } catch (UnsupportedTensorTypeException e) {
            throw new UnsupportedModelException("tensor " + name + ": " + e.getMessage());
        }
    }

    /**
     * The experts of a merged expert tensor ({@code [cols, rows, experts]} in GGUF's order): each
     * expert's matrix is a run of the tensor's bytes, used in place as a matrix of its own.
     */
    static FloatTensor[] experts(GgufFile gguf, String name, int rows, int cols, int experts) {
        GgufTensorInfo t = find(gguf, name);
        long[] shape = t.shape();
        if (shape.length != 3 || shape[0] != cols || shape[1] != rows || shape[2] != experts)
            throw new GgufFormatException("tensor " + name + " has shape " + java.util.Arrays.toString(shape) + ", expected [" + cols + ", " + rows + ", " + experts + "]");
        long each = (long) rows * cols, bytes = t.type().byteSize(each);
        var data = gguf.data(t);
        FloatTensor[] out = new FloatTensor[experts];
        try {
            for (int e = 0; e < experts; e++) out[e] = FloatTensor.of(t.type(), data.asSlice(e * bytes, bytes), each);
        } catch (UnsupportedTensorTypeException e) {
            throw new UnsupportedModelException("tensor " + name + ": " + e.getMessage());
        }
        return out;
    }

    /** A small vector (norm weight or bias), copied out of the file as float32. */
    static float[] vector(GgufFile gguf, String name, int length) {
        GgufTensorInfo t = find(gguf, name);
        if (t.elementCount() != length)
            throw new GgufFormatException("tensor " + name + " has " + t.elementCount() + " values, expected " + length);
        return switch (t.type()) {
            case F32 -> gguf.data(t).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
            default -> {
                float[] v = new float[length];
                try {
                    FloatTensor.of(t.type(), gguf.data(t), length).dequantize(0, v, 0, length);
                } catch (UnsupportedTensorTypeException e) {
                    throw new UnsupportedModelException("tensor " + name + ": " + e.getMessage());
                }
                yield v;
            }
        };
    }
}
