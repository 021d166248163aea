package dev.genset.engine.model;

import dev.genset.engine.chat.ChatTemplate;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A loaded model: its GGUF file (kept mapped), hyper-parameters and weights. Stateless during
 * inference; sequences keep their own {@link KvCache}, and a {@link Transformer} holds the scratch
 * space of one forward pass at a time.
 */
public final class Model implements AutoCloseable {
    private final GgufFile gguf;
    private final ModelConfig config;
    private final Weights weights;
    private final float[] ropeFreqFactors;
    private final Tokenizer tokenizer;
    /**
     * Makes the matrices' repacked forms on a thread of its own, in the order a forward pass needs
     * them, from the end of the model's first forward pass (or {@link #startRepacking}): that pass,
     * if its batch is small (a short prompt, a warm-up), reads the Q8_0, Q4_0, Q4_K and Q6_K matrices in their
     * stored bytes in the repacked forms' order ({@link FloatTensor#expectRepackingAhead}), with
     * results the same bit for bit, and is not slowed by the repacking's page faults on the same
     * cores; larger batches make (on their pool) any form they reach first, or wait for the one being
     * made. A model whose repacked matrices are mostly of other types (Q3_K, Q5_0) starts its
     * repacking at load. Null when there is nothing to repack.
     */
    private final Thread repacker;
    private final CountDownLatch repackingStart = new CountDownLatch(1);
    private volatile boolean closing;

    private Model(GgufFile gguf, boolean repackAhead) {
        this.gguf = gguf;
        this.config = ModelConfig.fromGguf(gguf);
        this.tokenizer = Tokenizer.fromGguf(gguf);
        this.weights = Weights.load(gguf, config);
        GgufTensorInfo freqs = gguf.tensor("rope_freqs.weight");
        this.ropeFreqFactors = freqs == null ? null : Weights.vector(gguf, "rope_freqs.weight", config.ropeDims() / 2);
        boolean ahead = repackAhead && Weights.repackedBytes(weights) > 0;
        // where most of the weights cannot be multiplied before their forms are made, the first pass needs the repacking at once
        if (ahead && !weights.expectRepackingAhead(true)) startRepacking();
        this.repacker = ahead ? Thread.ofPlatform().daemon().name("genset-repack").start(this::repackAhead) : null;
    }

    private void repackAhead() {
        try (Parallel alone = new Parallel(1)) {
            repackingStart.await();
            if (!closing) weights.repack(config, alone, () -> closing);
        } catch (RuntimeException | OutOfMemoryError | InterruptedException e) {
            // left to the forward pass, which makes what is missing and reports what fails
        } finally {
            weights.expectRepackingAhead(false);  // from here, products make any form still missing
        }
    }

    /**
     * Starts the repacking ahead of use now, if it has not started (a forward pass's end starts
     * it too): for callers that want every form made before they measure or serve.
     */
    public void startRepacking() {
        repackingStart.countDown();
    }

    public static Model load(Path path) throws IOException {
        return load(path, true);
    }

    /** {@link #load(Path)}, the matrices repacked ahead of the first products or on their first use. */
    static Model load(Path path, boolean repackAhead) throws IOException {
        GgufFile gguf = GgufFile.open(path);
        try {
            return new Model(gguf, repackAhead);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /** Whether the repacking ahead of use is still going (tests). */
    boolean repacking() {
        return repacker != null && repacker.isAlive();
    }

    /**
     * Waits until the matrices' repacking ahead of use has ended (made every form, or stopped on
     * a failure the forward pass will report); at once if there is none.
     */
    public void awaitRepacking() throws InterruptedException {
        startRepacking();
        if (repacker != null) repacker.join();
    }

    public GgufFile gguf() {
        return gguf;
    }

    public ModelConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The model's name from its metadata, else its file name. */
    public String name() {
        String n = gguf.getString("general.name", null);
        return n != null ? n : gguf.path() == null ? "model" : gguf.path().getFileName().toString().replaceFirst("\\.gguf$", "");
    }

    /** The model's chat template (tokenizer.chat_template), or a built-in format detected from its vocabulary. */
    public ChatTemplate chatTemplate() {
        String source = gguf.getString("tokenizer.chat_template", null);
        String bos = tokenizer.bos() >= 0 ? tokenizer.tokenText(tokenizer.bos()) : "";
        String eos = tokenizer.eos() >= 0 ? tokenizer.tokenText(tokenizer.eos()) : "";
        if (source == null) return ChatTemplate.builtin(ChatTemplate.detect(null, t -> tokenizer.tokenId(t) >= 0));
        return ChatTemplate.of(source, bos, eos);
    }

    public Weights weights() {
        return weights;
    }

    /** Scratch space and thread pool for forward passes of up to {@code maxBatch} rows. */
    public Transformer newTransformer(Parallel pool, int maxBatch) {
        Transformer t = new Transformer(config, weights, ropeFreqFactors, pool, maxBatch);
        if (repacker != null) t.afterForward = this::startRepacking;
        return t;
    }

    /** A cache of f32 keys and values for {@code contextSize} positions. */
    public KvCache newCache(int contextSize) {
        return new KvCache(config, contextSize);
    }

    public KvCache newCache(int contextSize, KvType keyType, KvType valueType) {
        return new KvCache(config, contextSize, keyType, valueType);
    }

    /**
     * Runs the forward pass on a scratch cache, as a prompt of three tokens in one batch, sixteen
     * more in another, and then two single tokens, and discards the results: the kernels of every
     * path (batched, as prefill and a multi-sequence decode step use them: rows in pairs and one left
     * over, rows in fours, and the 16-bit and float products that larger batches take on CPUs with
     * 512-bit vectors; and single-row) are compiled by the JIT and the weights paged in, so that the
     * first request waits for neither (on a 1B model, about 1.5 s of it); then the embedding lookup
     * of a few hundred rows. Returns the nanoseconds it took. The scratch cache holds f32.
     */
    public long warmUp(Parallel pool) {
        return warmUp(pool, KvType.F32, KvType.F32, 1);
    }

    /**
     * {@link #warmUp(Parallel)} with scratch caches of these types, as the caches it warms up for
     * store keys and values, for a scheduler decoding up to {@code sequences} sequences together:
     * where that is more than one, two decoding steps of several sequences follow (up to five, then
     * up to sixteen, each sequence a cache of its own and every row wanting logits, as a server's
     * steps are), which compile the output matrix's batched products and the attention over many
     * caches; a prompt, wanting one row's logits, never reaches them, and the first sixteen-client
     * load after a server's start waited on their compiles (about three quarters as fast as with
     * these steps). Not for one sequence: there they bring nothing, and a decoding path compiled
     * after it has run with several rows can be slower for one (BENCHMARKS.md, rounds 27 and 28).
     */
    public long warmUp(Parallel pool, KvType keyType, KvType valueType, int sequences) {
        long start = System.nanoTime();
        // on the repacked forms, not the first pass's stored bytes: the in-order kernels run first in
        // a process changed what the JIT made of the batched Q4_K kernels (prompts about 0.7x as fast
        // in about one process in five; BENCHMARKS.md, round 32), and a warm-up is for the forms used after it
        try {
            awaitRepacking();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int small = 3, large = 16, vocab = config.vocabSize(), pos = 0;
        Transformer t = newTransformer(pool, large);
        KvCache cache = newCache(small + large + 2, keyType, valueType);
        float[] logits = new float[vocab];
        for (int batch : new int[] {small, large}) {
            int[] tokens = new int[batch], positions = new int[batch];
            KvCache[] caches = new KvCache[batch];
            boolean[] want = new boolean[batch];
            for (int i = 0; i < batch; i++, pos++) {
                tokens[i] = pos == 0 && tokenizer.bos() >= 0 ? tokenizer.bos() : pos % vocab;
                positions[i] = pos;
                caches[i] = cache;
            }
            want[batch - 1] = true;
            t.forward(batch, tokens, positions, caches, want, logits);
        }
        for (int end = pos + 2; pos < end; pos++)
            t.forward(1, new int[] {pos % vocab}, new int[] {pos}, new KvCache[] {cache}, new boolean[] {true}, logits);
        // decoding steps of several sequences: five (a run of four rows and one left over), then sixteen
        float[] rowLogits = sequences > 1 ? new float[Math.min(sequences, large) * vocab] : null;
        int[] steps = sequences > 5 ? new int[] {5, Math.min(sequences, large)} : sequences > 1 ? new int[] {sequences} : new int[0];
        for (int step : steps) {
            int[] tokens = new int[step], positions = new int[step];
            KvCache[] caches = new KvCache[step];
            boolean[] want = new boolean[step];
            for (int i = 0; i < step; i++) {
                tokens[i] = (pos + i) % vocab;
                caches[i] = newCache(KvCache.TILE, keyType, valueType);
                want[i] = true;
            }
            t.forward(step, tokens, positions, caches, want, rowLogits);
        }
        // the embedding lookup: a few passes call it too rarely to compile it, a request's prompt then would (and wait for it)
        float[] row = new float[config.dim()];
        for (int i = 0; i < 512; i++) weights.tokenEmbedding().dequantize((long) (i % vocab) * config.dim(), row, 0, config.dim());
        return System.nanoTime() - start;
    }

    /** Bytes of tensor data the model maps (its size on disk, less the header). */
    public long weightBytes() {
        return gguf.tensors().stream().mapToLong(GgufTensorInfo::byteSize).sum();
    }

    @Override
    public void close() {
        closing = true;
        startRepacking();
        if (repacker != null) {
            boolean interrupted = false;
            while (repacker.isAlive()) {
                try {
                    repacker.join();
                } catch (InterruptedException e) {
                    interrupted = true;  // the weights must not be freed under it
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        try {
            weights.release();
        } finally {
            gguf.close();
        }
    }

}
