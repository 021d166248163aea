package dev.genset.bench;

import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.MatMul;
import dev.genset.engine.tensor.Parallel;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Measures the engine as llama-bench does: prompt processing (the whole prompt as one batch),
 * token generation (one token per forward pass) and the two in a row (pp then tg), from an empty
 * cache or from one already holding {@code depth} tokens (llama-bench's {@code -d}: speed deep in a
 * conversation, where attention reads a long cache). Random tokens, no sampling; a warm-up run
 * before the timed repetitions; the depth's tokens are computed once, untimed, for all the tests at that depth.
 *
 * <p>A test may run several sequences together, as llama-batched-bench's parallel levels do and
 * as a server's continuous batching does: each sequence has a cache of its own, their prompts go
 * through one forward pass, and each generation step is one forward pass of one token from every
 * sequence. Every sequence's tokens count.
 */
public final class EngineBench {

    /**
     * One test: {@code nPrompt} tokens as one batch, then {@code nGen} generated one at a time, after
     * {@code depth} cached tokens, for each of {@code sequences} sequences decoding together.
     */
    public record Test(int nPrompt, int nGen, int depth, int sequences) {
        public Test {
            if (nPrompt < 0 || nGen < 0 || depth < 0) throw new IllegalArgumentException("token counts must not be negative");
            if (nPrompt + nGen == 0) throw new IllegalArgumentException("a test needs prompt or generated tokens");
            if (sequences < 1) throw new IllegalArgumentException("a test needs at least one sequence, not " + sequences);
        }

        /** One sequence. */
        public Test(int nPrompt, int nGen, int depth) {
            this(nPrompt, nGen, depth, 1);
        }

        public static Test pp(int n) {
            return new Test(n, 0, 0);
        }

        public static Test tg(int n) {
            return new Test(0, n, 0);
        }

        public Test atDepth(int d) {
            return new Test(nPrompt, nGen, d, sequences);
        }

        /** Tokens one run of the test processes, every sequence's. */
        public int tokensPerRun() {
            return (nPrompt + nGen) * sequences;
        }

        /** The same test for this many sequences together. */
        public Test times(int n) {
            return new Test(nPrompt, nGen, depth, n);
        }

        /** llama-bench's name for it: pp512, tg128, pp512+tg128, with " @ d4096" at a depth; " x16" for 16 sequences. */
        public String name() {
            String base = nGen == 0 ? "pp" + nPrompt : nPrompt == 0 ? "tg" + nGen : "pp" + nPrompt + "+tg" + nGen;
            if (sequences > 1) base += " x" + sequences;
            return depth > 0 ? base + " @ d" + depth : base;
        }
    }

    /** One test's timings: {@code samplesNs} per repetition, after a warm-up run; its breakdown where one was asked for ({@link #breakDown}), else null. */
    public record Result(Test spec, long[] samplesNs, PassBreakdown breakdown) {
        public String test() {
            return spec.name();
        }

        public int nPrompt() {
            return spec.nPrompt();
        }

        public int nGen() {
            return spec.nGen();
        }

        public int nDepth() {
            return spec.depth();
        }

        public int sequences() {
            return spec.sequences();
        }

        /** Tokens a repetition processes, every sequence's (the depth's are not counted, as llama-bench does not). */
        public int tokens() {
            return spec.tokensPerRun();
        }

        public double[] samplesTs() {
            return Arrays.stream(samplesNs).mapToDouble(ns -> tokens() * 1e9 / ns).toArray();
        }

        public double avgTs() {
            return Arrays.stream(samplesTs()).average().orElse(0);
        }

        public double stddevTs() {
            return stddev(samplesTs());
        }

        public double avgNs() {
            return Arrays.stream(samplesNs).average().orElse(0);
        }

        public double stddevNs() {
            return stddev(Arrays.stream(samplesNs).asDoubleStream().toArray());
        }

        /** Sample standard deviation, as llama-bench reports it. */
        private static double stddev(double[] v) {
            if (v.length < 2) return 0;
            double mean = Arrays.stream(v).average().orElse(0), ss = 0;
            for (double x : v) ss += (x - mean) * (x - mean);
            return Math.sqrt(ss / (v.length - 1));
        }
    }

    /** Rows per forward pass while filling a depth: prompt batches of this size, as a server's prefill takes them. */
    static final int DEPTH_BATCH = 512;

    private final Model model;
    private final Parallel pool;
    private final KvType keyType, valueType;
    private final SplittableRandom random = new SplittableRandom(1234);

    /** Benchmarks with a KV cache of f32 keys and values. */
    public EngineBench(Model model, Parallel pool) {
        this(model, pool, KvType.F32, KvType.F32);
    }

    /** Benchmarks with a KV cache of these types (llama-bench's {@code -ctk}, {@code -ctv}). */
    public EngineBench(Model model, Parallel pool, KvType keyType, KvType valueType) {
        this.model = model;
        this.pool = pool;
        this.keyType = keyType;
        this.valueType = valueType;
    }

    /** pp{@code nPrompt} then tg{@code nGen} from an empty cache (a count of 0 skips its test). */
    public List<Result> run(int nPrompt, int nGen, int repetitions) {
        List<Test> tests = new ArrayList<>();
        if (nPrompt > 0) tests.add(Test.pp(nPrompt));
        if (nGen > 0) tests.add(Test.tg(nGen));
        return measure(tests, 0, repetitions);
    }

    /**
     * Each test after {@code depth} cached tokens (its own depth is ignored): the depth's tokens are
     * computed once for all the tests, and each repetition starts from them.
     */
    public List<Result> measure(List<Test> tests, int depth, int repetitions) {
        if (repetitions < 1) throw new IllegalArgumentException("repetitions must be at least 1");
        int maxBatch = Math.min(depth, DEPTH_BATCH), longest = 0, sequences = 1;
        for (Test test : tests) {
            maxBatch = Math.max(maxBatch, Math.max(test.nPrompt(), 1) * test.sequences());
            longest = Math.max(longest, test.nPrompt() + test.nGen());
            sequences = Math.max(sequences, test.sequences());
        }
        Transformer t = model.newTransformer(pool, Math.max(1, maxBatch));
        KvCache[] caches = new KvCache[sequences];
        float[] logits = new float[model.config().vocabSize()];
        for (int i = 0; i < sequences; i++) {
            caches[i] = model.newCache(depth + longest + 1, keyType, valueType);
            for (int filled = 0; filled < depth; filled += DEPTH_BATCH)
                prompt(t, Arrays.copyOfRange(caches, i, i + 1), filled, Math.min(DEPTH_BATCH, depth - filled), logits);
        }
        List<Result> results = new ArrayList<>();
        for (Test test : tests) {
            KvCache[] used = Arrays.copyOf(caches, test.sequences());
            float[] stepLogits = new float[used.length * model.config().vocabSize()];
            long[] samples = new long[repetitions];
            long leastAllocated = Long.MAX_VALUE;
            PassBreakdown breakdown = breakingDown ? new PassBreakdown(model) : null;
            for (int rep = -1; rep < repetitions; rep++) { // rep -1 is the warm-up
                for (KvCache cache : used) cache.truncate(depth);
                long allocated = allocatedBytes();
                if (breakdown != null) {  // the warm-up too, so that the timer's own code is compiled before it counts
                    if (rep == 0) breakdown.clear();
                    MatMul.timeProducts(breakdown);
                    Transformer.timeAttention(breakdown);
                }
                long start = System.nanoTime(), elapsed;
                try {
                    if (test.nPrompt() > 0) prompt(t, used, depth, test.nPrompt(), stepLogits);
                    generate(t, used, depth + test.nPrompt(), test.nGen(), stepLogits);
                    elapsed = System.nanoTime() - start;
                } finally {
                    MatMul.timeProducts(null);
                    Transformer.timeAttention(null);
                }
                if (rep >= 0 && breakdown != null) breakdown.pass(elapsed, test.tokensPerRun());
                if (rep >= 0) samples[rep] = elapsed;
                if (rep >= 0 && allocated >= 0) leastAllocated = Math.min(leastAllocated, allocatedBytes() - allocated);
            }
            if (test.nPrompt() == 0 && repetitions >= 2 && leastAllocated != Long.MAX_VALUE)
                allocationWarning(leastAllocated, test.nGen()).ifPresent(warnings::add);
            results.add(new Result(test.atDepth(depth), samples, breakdown));
        }
        return results;
    }

    private boolean breakingDown;

    /**
     * From now on, each test's timed repetitions are also broken down ({@link PassBreakdown}, in its
     * result): each product's and each layer's attention's time is read as it returns, two clock reads each.
     */
    public EngineBench breakDown() {
        breakingDown = true;
        return this;
    }

    /** Warnings from the measurements so far (see {@link #allocationWarning}). */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    private final List<String> warnings = new ArrayList<>();

    /** Bytes allocated so far by the calling thread and the pool's, or -1 where the JVM does not count them. */
    private long allocatedBytes() {
        long workers = pool.workerAllocatedBytes();
        if (workers < 0 || !(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx))
            return -1;
        return workers + mx.getCurrentThreadAllocatedBytes();
    }

    /** Generated tokens each allocating more than this (the least over the repetitions) mean a kernel compiled without its vectors. */
    static final long ALLOCATION_LIMIT_PER_TOKEN = 1 << 20;

    /**
     * A warning when every repetition of generation allocated over {@link #ALLOCATION_LIMIT_PER_TOKEN}
     * bytes a token: a decode step allocates nothing once its kernels are compiled, so that much means
     * the JIT compiled a kernel with its vectors left as objects (it depends on compile order, and
     * such a kernel runs several times slower); the figures then understate the engine.
     */
    static Optional<String> allocationWarning(long leastBytes, int tokens) {
        if (tokens <= 0 || leastBytes / tokens <= ALLOCATION_LIMIT_PER_TOKEN) return Optional.empty();
        return Optional.of(String.format(Locale.ROOT,
                "warning: generation allocated %.1f MiB a token in every repetition: a kernel was compiled without its vector "
                        + "operations (this depends on the JIT's compile order), so these figures are below the engine's; run again",
                leastBytes / (double) tokens / (1 << 20)));
    }

    /** n random tokens for each cache, at positions from, from + 1, ..., all as one batch; the last row's logits wanted. */
    private void prompt(Transformer t, KvCache[] caches, int from, int n, float[] logits) {
        int rows = n * caches.length;
        int[] tokens = new int[rows], positions = new int[rows];
        KvCache[] rowCaches = new KvCache[rows];
        boolean[] want = new boolean[rows];
        for (int s = 0, r = 0; s < caches.length; s++)
            for (int i = 0; i < n; i++, r++) {
                tokens[r] = randomToken();
                positions[r] = from + i;
                rowCaches[r] = caches[s];
            }
        want[rows - 1] = true;
        t.forward(rows, tokens, positions, rowCaches, want, logits);
    }

    /** n steps, each one random token for every cache, at positions from, from + 1, ...; every row's logits wanted. */
    private void generate(Transformer t, KvCache[] caches, int from, int n, float[] logits) {
        int rows = caches.length;
        int[] tokens = new int[rows], positions = new int[rows];
        boolean[] want = new boolean[rows];
        Arrays.fill(want, true);
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                tokens[r] = randomToken();
                positions[r] = from + i;
            }
            t.forward(rows, tokens, positions, caches, want, logits);
        }
    }

    private int randomToken() {
        return random.nextInt(model.config().vocabSize());
    }

    /**
     * Bytes of weights one generated token reads: every matrix once, and one row of the embedding
     * table; of a mixture of experts, only the experts a token is routed to.
     */
    public static long bytesPerToken(Model model) {
        long total = 0;
        boolean tied = model.gguf().tensor("output.weight") == null;
        var c = model.config();
        for (GgufTensorInfo t : model.gguf().tensors()) {
            if (t.name().equals("token_embd.weight")) total += tied ? t.byteSize() : t.byteSize() / t.rows();
            else if (c.moe() && t.name().endsWith("_exps.weight")) total += t.byteSize() / c.experts() * c.expertsUsed();
            else total += t.byteSize();
        }
        return total;
    }
}
