package dev.genset.engine.model;

import dev.genset.engine.tensor.ColdStart;
import dev.genset.engine.tensor.FloatTensor;
import dev.genset.engine.tensor.MatMul;
import dev.genset.engine.tensor.Parallel;

import java.util.Arrays;

/**
 * The forward pass of a Llama-family transformer over a batch of tokens.
 *
 * <p>A batch is a list of rows, each a (token, position, KV cache) triple: the prompt of one
 * sequence (consecutive positions, one cache) or the next token of many sequences (one cache
 * each). Every weight matrix is applied to the whole batch at once; attention is per row against
 * that row's cache. Scratch buffers are sized once for {@code maxBatch} rows, so a forward pass
 * allocates nothing.
 */
public final class Transformer {
    private final ModelConfig c;
    private final Weights w;
    private final Parallel pool;
    private final int maxBatch;
    private final float[] ropeFreqFactors; // llama3-style per-pair frequency divisors, or null
    private final float ropeThetaScale;

    // Activations, one row per batch entry.
    private final float[] x;       // residual stream     [maxBatch x dim]
    private final float[] xb;      // normed input        [maxBatch x dim]
    private final float[] q;       // queries             [maxBatch x qDim]
    private final float[] k;       // new keys            [maxBatch x kvDim]
    private final float[] v;       // new values          [maxBatch x kvDim]
    private final float[] att;     // attention output    [maxBatch x qDim]
    private final float[] proj;    // projection output   [maxBatch x dim]
    private final float[] gate;    // FFN gate            [maxBatch x ffn]
    private final float[] up;      // FFN up              [maxBatch x ffn]
    private final float[] rope;    // cos, sin per pair   [maxBatch x ropeDims]
    private final float[] normed;  // final-normed rows that want logits [maxBatch x dim]

    // A mixture of experts (null for dense models): each row's routing, and an expert's rows gathered.
    private final float[] routerLogits;  // [maxBatch x experts]
    private final int[] chosen;          // [maxBatch x expertsUsed]: each row's experts
    private final boolean[] picked;      // [experts]: taken for the row being routed
    private final float[] chosenWeight;  // [maxBatch x expertsUsed]: their weights
    private final int[] expertRows;      // the rows routed to the expert at hand
    private final float[] expertRowWeight;
    private final float[] expertIn;      // those rows' normed inputs [maxBatch x dim]
    private final float[] moeOut;        // the weighted sum of each row's experts [maxBatch x dim]
    private final FloatTensor[] oneRowGateUp; // one row's experts' gate and up matrices, taken in one product
    private final float[][] oneRowOut;        // their outputs [ffn] each
    private final int[] oneRowRows;
    private final FloatTensor[] oneRowDown;   // their down matrices, each on its own gated row, in one product
    private final float[][] oneRowDownIn, oneRowDownOut;
    private final int[] oneRowDownRows;

    // The products that share their input, per layer: one hand-off to the pool each.
    private final FloatTensor[][] qkvWeights, gateUpWeights;
    private final FloatTensor[][][] expertGateUp; // per layer and expert: its gate and up matrices, taken together
    private final float[][] qkvOut, gateUpOut;
    private final int[] qkvRows, gateUpRows;

    public Transformer(ModelConfig config, Weights weights, float[] ropeFreqFactors, Parallel pool, int maxBatch) {
        this.c = config;
        this.w = weights;
        this.pool = pool;
        this.maxBatch = maxBatch;
        this.ropeFreqFactors = ropeFreqFactors;
        this.ropeThetaScale = (float) Math.pow(config.ropeBase(), -2.0 / config.ropeDims());
        x = new float[maxBatch * c.dim()];
        xb = new float[maxBatch * c.dim()];
        q = new float[maxBatch * c.qDim()];
        k = new float[maxBatch * c.kvDim()];
        v = new float[maxBatch * c.kvDim()];
        att = new float[maxBatch * c.qDim()];
        proj = new float[maxBatch * c.dim()];
        gate = new float[maxBatch * c.ffnDim()];
        up = new float[maxBatch * c.ffnDim()];
        rope = new float[maxBatch * c.ropeDims()];
        normed = new float[maxBatch * c.dim()];
        boolean moe = c.moe();
        routerLogits = moe ? new float[maxBatch * c.experts()] : null;
        chosen = moe ? new int[maxBatch * c.expertsUsed()] : null;
        picked = moe ? new boolean[c.experts()] : null;
        chosenWeight = moe ? new float[maxBatch * c.expertsUsed()] : null;
        expertRows = moe ? new int[maxBatch] : null;
        expertRowWeight = moe ? new float[maxBatch] : null;
        expertIn = moe ? new float[maxBatch * c.dim()] : null;
        moeOut = moe ? new float[maxBatch * c.dim()] : null;
        boolean oneProduct = moe && 2 * c.expertsUsed() <= MatMul.MAX_PARTS;
        oneRowGateUp = oneProduct ? new FloatTensor[2 * c.expertsUsed()] : null;
        oneRowOut = oneProduct ? new float[2 * c.expertsUsed()][c.ffnDim()] : null;
        oneRowRows = oneProduct ? new int[2 * c.expertsUsed()] : null;
        if (oneProduct) Arrays.fill(oneRowRows, c.ffnDim());
        oneRowDown = oneProduct ? new FloatTensor[c.expertsUsed()] : null;
        oneRowDownIn = oneProduct ? new float[c.expertsUsed()][] : null;
        oneRowDownOut = oneProduct ? new float[c.expertsUsed()][c.dim()] : null;
        oneRowDownRows = oneProduct ? new int[c.expertsUsed()] : null;
        if (oneProduct) {
            Arrays.fill(oneRowDownRows, c.dim());
            for (int j = 0; j < c.expertsUsed(); j++) oneRowDownIn[j] = oneRowOut[2 * j];
        }
        qkvWeights = new FloatTensor[c.layers()][];
        gateUpWeights = new FloatTensor[c.layers()][];
        expertGateUp = new FloatTensor[c.layers()][][];
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer layer = w.layers()[l];
            qkvWeights[l] = new FloatTensor[] {layer.wq(), layer.wk(), layer.wv()};
            gateUpWeights[l] = c.moe() ? null : new FloatTensor[] {layer.wGate(), layer.wUp()};
            if (c.moe()) {
                expertGateUp[l] = new FloatTensor[c.experts()][];
                for (int e = 0; e < c.experts(); e++) expertGateUp[l][e] = new FloatTensor[] {layer.expertGate()[e], layer.expertUp()[e]};
            }
        }
        qkvOut = new float[][] {q, k, v};
        gateUpOut = new float[][] {gate, up};
        qkvRows = new int[] {c.qDim(), c.kvDim(), c.kvDim()};
        gateUpRows = new int[] {c.ffnDim(), c.ffnDim()};
    }

    public ModelConfig config() {
        return c;
    }

    public int maxBatch() {
        return maxBatch;
    }

    public Parallel pool() {
        return pool;
    }

    /**
     * Runs rows [0, n) of the batch. For each row r with wantLogits[r], the next-token logits are
     * written to logits[j * vocab ..] where j counts the rows that want logits, in order.
     */
    public void forward(int n, int[] tokens, int[] positions, KvCache[] caches, boolean[] wantLogits, float[] logits) {
        if (n > ColdStart.MAX_ROWS) ColdStart.end();
        if (ColdStart.on()) { // a process's first pass
            Weights.Layer first = w.layers()[0];
            MatMul.compileAhead(w.output(), c.dim(), first.wq(), first.wk(), first.wv(), first.wo(), first.wGate(), first.wUp(), first.wDown());
        }
        layers(n, tokens, positions, caches);
        final int dim = c.dim();
        int m = 0;
        for (int r = 0; r < n; r++)
            if (wantLogits[r]) ArrayMath.rmsNorm(normed, m++ * dim, x, r * dim, w.outputNorm(), dim, c.rmsEps());
        if (m > 0) MatMul.matmul(pool, w.output(), normed, m, logits, c.vocabSize(), dim);
        ColdStart.end();
        if (afterForward != null) afterForward.run();
    }

    /** Run at the end of each pass: the model's {@link Model#startRepacking} (set by {@link Model#newTransformer}), or null. */
    Runnable afterForward;

    /**
     * Runs rows [0, n) of the batch as {@link #forward} does, and writes each row's final hidden
     * state (after the output norm, where the logits would be taken from) to hidden[r * dim ..]:
     * what embeddings are pooled from.
     */
    public void hidden(int n, int[] tokens, int[] positions, KvCache[] caches, float[] hidden) {
        if (n > ColdStart.MAX_ROWS) ColdStart.end();
        layers(n, tokens, positions, caches);
        final int dim = c.dim();
        for (int r = 0; r < n; r++) ArrayMath.rmsNorm(hidden, r * dim, x, r * dim, w.outputNorm(), dim, c.rmsEps());
        ColdStart.end();
        if (afterForward != null) afterForward.run();
    }

    /** The transformer blocks over rows [0, n): the residual stream ends in x, each row's key and value in its cache. */
    private void layers(int n, int[] tokens, int[] positions, KvCache[] caches) {
        if (n < 1 || n > maxBatch) throw new IllegalArgumentException("batch of " + n + " rows (1.." + maxBatch + ")");
        final int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), ffn = c.ffnDim();
        for (int r = 0; r < n; r++) {
            if (tokens[r] < 0 || tokens[r] >= c.vocabSize()) throw new IllegalArgumentException("token id " + tokens[r] + " is outside the vocabulary");
            if (positions[r] < 0 || positions[r] >= caches[r].capacity())
                throw new ContextFullException(positions[r], caches[r].capacity());
            w.tokenEmbedding().dequantize((long) tokens[r] * dim, x, r * dim, dim);
            ropeTable(positions[r], r * c.ropeDims());
        }

        // Element loops live in ArrayMath, not here: a loop over activations in this method would
        // make the JIT compile the whole method on the stack during a model's first token (on-stack
        // replacement of a body that inlines every product): a quarter to three quarters of a second
        // of compiler time on two cores, while that first token waited.
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer layer = w.layers()[l];
            // Attention block: x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
            norms.run(n, layer.attnNorm());
            MatMul.matmul(pool, qkvWeights[l], xb, n, qkvOut, qkvRows, dim);
            for (int r = 0; r < n; r++) {
                if (layer.bq() != null) {
                    addBias(q, r * qDim, layer.bq());
                    addBias(k, r * kvDim, layer.bk());
                    addBias(v, r * kvDim, layer.bv());
                }
                if (layer.qNorm() != null) {
                    for (int h = 0; h < c.heads(); h++) headNorm(q, r * qDim + h * c.headDim(), layer.qNorm());
                    for (int h = 0; h < c.kvHeads(); h++) headNorm(k, r * kvDim + h * c.headDim(), layer.kNorm());
                }
                for (int h = 0; h < c.heads(); h++) rotate(q, r * qDim + h * c.headDim(), r * c.ropeDims());
                for (int h = 0; h < c.kvHeads(); h++) rotate(k, r * kvDim + h * c.headDim(), r * c.ropeDims());
                // The cache holds this row's key and value from now on; later rows of the batch see them.
                caches[r].put(l, positions[r], k, r * kvDim, v, r * kvDim);
            }
            attention.run(l, n, positions, caches);
            MatMul.matmul(pool, layer.wo(), att, n, proj, dim, qDim);
            ArrayMath.addTo(x, proj, n * dim);

            // Feed-forward block (SwiGLU): x += Wdown · (silu(Wgate·norm(x)) * Wup·norm(x))
            norms.run(n, layer.ffnNorm());
            if (c.moe()) {
                experts(l, layer, n);
                continue;
            }
            MatMul.matmul(pool, gateUpWeights[l], xb, n, gateUpOut, gateUpRows, dim);
            gating.run(n * ffn);
            MatMul.matmul(pool, layer.wDown(), gate, n, proj, dim, ffn);
            ArrayMath.addTo(x, proj, n * dim);
        }

        for (int r = 0; r < n; r++) caches[r].advanceTo(positions[r] + 1);
    }

    /**
     * A mixture-of-experts feed-forward block over rows [0, n) of xb, added to x: the router
     * scores every expert for each row; each row takes its {@code expertsUsed} best, weighted by
     * their softmax probabilities renormalized over the chosen (as llama.cpp does for Mixtral and
     * Qwen3-MoE); then each expert runs once over the rows routed to it, as a batch, and each row
     * adds up its experts' outputs in expert order (so a row's numbers do not depend on which rows
     * share its batch).
     */
    private void experts(int l, Weights.Layer layer, int n) {
        final int dim = c.dim(), ffn = c.ffnDim(), experts = c.experts(), used = c.expertsUsed();
        MatMul.matmul(pool, layer.router(), xb, n, routerLogits, experts, dim);
        for (int r = 0; r < n; r++) route(r);
        java.util.Arrays.fill(moeOut, 0, n * dim, 0f);
        if (n == 1 && oneRowGateUp != null) {
            oneRow(layer);
            return;
        }
        for (int e = 0; e < experts; e++) {
            int m = 0;
            for (int r = 0; r < n; r++)
                for (int j = 0; j < used; j++)
                    if (chosen[r * used + j] == e) {
                        expertRows[m] = r;
                        expertRowWeight[m++] = chosenWeight[r * used + j];
                    }
            if (m == 0) continue;
            for (int i = 0; i < m; i++) System.arraycopy(xb, expertRows[i] * dim, expertIn, i * dim, dim);
            MatMul.matmul(pool, expertGateUp[l][e], expertIn, m, gateUpOut, gateUpRows, dim);
            ArrayMath.swiGlu(gate, up, m * ffn, GATING_TAIL.get());
            MatMul.matmul(pool, layer.expertDown()[e], gate, m, proj, dim, ffn);
            for (int i = 0; i < m; i++) ArrayMath.addScaled(moeOut, expertRows[i] * dim, proj, i * dim, expertRowWeight[i], dim);
        }
        ArrayMath.addTo(x, moeOut, n * dim);
    }

    /**
     * The experts of a batch of one row: their gate and up products in one hand-off to the pool
     * (they share the row as input), their down products in another (each on its own gated row),
     * added up in expert order as a batch's rows are.
     */
    private void oneRow(Weights.Layer layer) {
        final int dim = c.dim(), ffn = c.ffnDim(), used = c.expertsUsed();
        for (int j = 1; j < used; j++) // the row's experts in id order (insertion sort of a few)
            for (int i = j; i > 0 && chosen[i - 1] > chosen[i]; i--) {
                int e = chosen[i];
                chosen[i] = chosen[i - 1];
                chosen[i - 1] = e;
                float w = chosenWeight[i];
                chosenWeight[i] = chosenWeight[i - 1];
                chosenWeight[i - 1] = w;
            }
        for (int j = 0; j < used; j++) {
            oneRowGateUp[2 * j] = layer.expertGate()[chosen[j]];
            oneRowGateUp[2 * j + 1] = layer.expertUp()[chosen[j]];
        }
        MatMul.matmul(pool, oneRowGateUp, xb, 1, oneRowOut, oneRowRows, dim);
        for (int j = 0; j < used; j++) {
            ArrayMath.swiGlu(oneRowOut[2 * j], oneRowOut[2 * j + 1], ffn, GATING_TAIL.get());
            oneRowDown[j] = layer.expertDown()[chosen[j]];
        }
        MatMul.matmulEach(pool, oneRowDown, oneRowDownIn, oneRowDownOut, oneRowDownRows, ffn);
        for (int j = 0; j < used; j++) ArrayMath.addScaled(moeOut, 0, oneRowDownOut[j], 0, chosenWeight[j], dim);
        ArrayMath.addTo(x, moeOut, dim);
    }

    /** Row r's experts and their weights, from its router logits: the best {@code expertsUsed} of the softmax, renormalized. */
    private void route(int r) {
        final int experts = c.experts(), used = c.expertsUsed();
        int base = r * experts;
        float max = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < experts; e++) max = Math.max(max, routerLogits[base + e]);
        double sum = 0;
        for (int e = 0; e < experts; e++) sum += Math.exp(routerLogits[base + e] - max);
        float chosenSum = 0;
        Arrays.fill(picked, false);
        for (int j = 0; j < used; j++) { // the j-th best not yet taken (ties: the lower id)
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if (picked[e]) continue;
                if (best < 0 || routerLogits[base + e] > routerLogits[base + best]) best = e;
            }
            picked[best] = true;
            chosen[r * used + j] = best;
            float p = (float) (Math.exp(routerLogits[base + best] - max) / sum);
            chosenWeight[r * used + j] = p;
            chosenSum += p;
        }
        float scale = c.expertWeightsScale() / Math.max(chosenSum, 6.103515625e-5f); // llama.cpp's floor on the sum
        for (int j = 0; j < used; j++) chosenWeight[r * used + j] *= scale;
    }


    /**
     * RMS norms of rows [0, n) of x into xb, a row per unit, spread over the pool for a prompt's
     * rows (a decoding step's few rows are not worth a hand-off). Each row's norm is the same
     * computation wherever it runs.
     */
    private final class RowNorms implements Parallel.RangeTask {
        private float[] weight;

        void run(int n, float[] weight) {
            this.weight = weight;
            pool.forRange(n, this, 4L * n * c.dim());
        }

        @Override
        public void run(int from, int to) {
            int dim = c.dim();
            for (int r = from; r < to; r++) ArrayMath.rmsNorm(xb, r * dim, x, r * dim, weight, dim, c.rmsEps());
        }
    }

    private final RowNorms norms = new RowNorms();

    /**
     * SwiGLU's gating of gate[0, n) with up, in runs of {@link #GATING_RUN} values spread over the
     * pool where there are many (a prompt's rows; it was a serial 1% to 2% of a prompt on two
     * threads): each value goes through the same operations in any run ({@link ArrayMath#swiGlu}),
     * so the split does not change a bit. Each thread pads its last vector in a scratch of its own.
     */
    private final class Gating implements Parallel.RangeTask {
        private int n;

        void run(int n) {
            this.n = n;
            pool.forRange((n + GATING_RUN - 1) / GATING_RUN, this, 8L * n);
        }

        @Override
        public void run(int from, int to) {
            int off = from * GATING_RUN, end = Math.min(n, to * GATING_RUN);
            ArrayMath.swiGlu(gate, up, off, end - off, GATING_TAIL.get());
        }
    }

    /** Values per unit of {@link Gating}: a multiple of every vector length. */
    private static final int GATING_RUN = 4096;
    /** The gating's last gate and up vectors, padded ({@link ArrayMath#swiGlu}): each thread's own. */
    private static final ThreadLocal<float[]> GATING_TAIL = ThreadLocal.withInitial(() -> new float[2 * ArrayMath.LANES]);
    private final Gating gating = new Gating();

    /** Multiply-adds of one layer's attention over the batch: two per cached value per query element. */
    private long attentionWork(int n, int[] positions) {
        long work = 0;
        for (int r = 0; r < n; r++) work += 2L * (positions[r] + 1) * c.qDim();
        return work;
    }

    /**
     * The attention step as a reusable task over (row, query head) pairs, so a forward pass
     * allocates nothing. A range's consecutive heads of one row that share a KV head are taken
     * together ({@link #attend}).
     */
    private final class AttentionTask implements Parallel.RangeTask {
        private int layer;
        private int[] positions;
        private KvCache[] caches;

        /** Layer {@code layer}'s attention for rows [0, n), on the pool. */
        void run(int layer, int n, int[] positions, KvCache[] caches) {
            this.layer = layer;
            this.positions = positions;
            this.caches = caches;
            AttentionTimer timer = attentionTimer;
            long began = timer == null ? 0 : System.nanoTime();
            pool.forRange(n * c.heads(), this, attentionWork(n, positions));
            if (timer != null) timer.attention(n, System.nanoTime() - began);
        }

        @Override
        public void run(int from, int to) {
            int longest = 0;  // sized to the caches, not the positions: grown once a cache, not as a sequence grows
            for (int i = from; i < to; i++) longest = Math.max(longest, caches[i / c.heads()].capacity() + KvCache.TILE);
            float[][] s = SCRATCH.get();
            int group = c.heads() / c.kvHeads(), headDim = c.headDim();
            if (s[0].length < group * longest) s[0] = new float[group * longest];
            if (s[2].length < group) s[2] = new float[group];
            if (s[3].length < headDim * KvCache.TILE) s[3] = new float[headDim * KvCache.TILE];
            if (s[4].length < headDim * VALUE_POSITIONS) s[4] = new float[headDim * VALUE_POSITIONS];
            if (s[5].length < KvCache.TILE) s[5] = new float[KvCache.TILE];
            for (int i = from; i < to; ) {
                int row = i / c.heads(), head = i % c.heads();
                int end = Math.min(to, row * c.heads() + (head / group + 1) * group);  // this KV head's last query head, + 1
                attend(layer, row, head, end - i, positions, caches[row], s);
                i = end;
            }
        }
    }

    private final AttentionTask attention = new AttentionTask();

    /** Told how long each layer's attention took, every row's and head's, from its start to its end on the pool. */
    public interface AttentionTimer {
        /** One layer's attention for {@code rows} rows took {@code nanos}; called on the thread that runs the forward pass. */
        void attention(int rows, long nanos);
    }

    /** Null but while a benchmark breaks a pass down ({@code genset bench --breakdown}): then one clock read each side of a layer's attention. */
    private static volatile AttentionTimer attentionTimer;

    /** Times every layer's attention from now on with {@code timer} (null: none), in every transformer. */
    public static void timeAttention(AttentionTimer timer) {
        attentionTimer = timer;
    }

    /**
     * Each thread's attention scratch: the scores (a KV head's query heads' worth, each as long as
     * the largest cache seen), the softmax's partial-vector scratch, the heads' softmax sums,
     * room for a tile of keys and a run of values converted from f16, q8_0 or q4_0, and a tile's scales.
     */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(
            () -> new float[][] {new float[0], new float[ArrayMath.LANES], new float[0], new float[0], new float[0], new float[0]});

    /** Value positions taken at a time for all the heads of a group: 8 KiB or so (64 channels), read from memory once and then from the first-level cache. */
    static final int VALUE_POSITIONS = 32;

    /**
     * Scaled dot-product attention of query heads [head, head + heads) of one row, which share one
     * KV head, over the row's cache, in three passes: the scores of every head, a tile of keys at
     * a time ({@link ArrayMath#scores}); each head's softmax numerators a vector at a time
     * ({@link ArrayMath#softmaxNumerators}); the values weighted by them, a few positions at a
     * time for every head, two heads to each load of a value ({@link ArrayMath#weightedSum2}),
     * then divided by their sum. Heads take turns over each tile of keys and
     * run of values, so it is read from memory once for the group, not once a head (and, stored as
     * f16, q8_0 or q4_0, converted once for the group). Each head's numbers go through the same operations
     * whichever heads it is taken with, and whether its row is decoded alone, in a batch of
     * sequences or as part of a prompt.
     */
    private void attend(int layer, int row, int head, int heads, int[] positions, KvCache cache, float[][] scratch) {
        final int headDim = c.headDim(), kvHead = head / (c.heads() / c.kvHeads());
        attend(q, att, row * c.qDim() + head * headDim, heads, headDim, positions[row] + 1,
                cache.keys[layer], cache.keyOffset(kvHead), cache.keyTileStride(), cache.values[layer], cache.valueOffset(kvHead), scratch);
    }

    /**
     * {@link #attend} on plain arrays: the queries of {@code heads} heads from q[qOff ..] (headDim
     * floats each), their outputs to att[qOff ..]; n positions of keys from keys' numbers at
     * keyOffset (tiles tileStride apart), and of values from values' numbers at valueOffset (one
     * position's headDim numbers after another's). The scratch arrays are those of
     * {@link #SCRATCH}, large enough.
     */
    static void attend(float[] q, float[] att, int qOff, int heads, int headDim, int n,
                       KvStore keys, int keyOffset, int tileStride, KvStore values, int valueOffset, float[][] scratch) {
        final float[] scores = scratch[0], tail = scratch[1], sums = scratch[2], keyTile = scratch[3], valueRun = scratch[4];
        final int tiles = (n + KvCache.TILE - 1) / KvCache.TILE, stride = tiles * KvCache.TILE;
        final float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int t = 0; t < tiles; t++) {
            float[] k = keys.f32;
            int ko = keyOffset + t * tileStride;
            if (k == null) {
                keys.tileToFloat(ko, headDim, keyTile, scratch[5]);
                k = keyTile;
                ko = 0;
            }
            for (int h = 0; h < heads; h++)
                ArrayMath.scores(scores, h * stride + t * KvCache.TILE, q, qOff + h * headDim, k, ko, headDim, scale);
        }
        for (int h = 0; h < heads; h++) sums[h] = ArrayMath.softmaxNumerators(scores, h * stride, n, tail);
        Arrays.fill(att, qOff, qOff + heads * headDim, 0f);
        for (int t = 0; t < n; t += VALUE_POSITIONS) {
            int count = Math.min(VALUE_POSITIONS, n - t);
            float[] x = values.f32;
            int v = valueOffset + t * headDim;
            if (x == null) {
                values.runToFloat(v, count * headDim, valueRun);
                x = valueRun;
                v = 0;
            }
            int h = 0;
            for (; h + 2 <= heads; h += 2)
                ArrayMath.weightedSum2(att, qOff + h * headDim, qOff + (h + 1) * headDim, scores, h * stride + t, (h + 1) * stride + t, count, x, v, headDim, headDim);
            if (h < heads) ArrayMath.weightedSum(att, qOff + h * headDim, scores, h * stride + t, count, x, v, headDim, headDim);
        }
        for (int h = 0; h < heads; h++) {
            float inv = 1f / sums[h];
            for (int i = 0, o = qOff + h * headDim; i < headDim; i++) att[o + i] *= inv;
        }
    }

    /** cos and sin of each rotated pair's angle at this position, computed as ggml does (iterated theta, float). */
    private void ropeTable(int position, int off) {
        float theta = position;
        for (int i = 0; i < c.ropeDims(); i += 2) {
            float ff = ropeFreqFactors != null ? ropeFreqFactors[i / 2] : 1f;
            float angle = c.ropeScale() * (theta / ff);
            rope[off + i] = (float) Math.cos(angle);
            rope[off + i + 1] = (float) Math.sin(angle);
            theta *= ropeThetaScale;
        }
    }

    private void rotate(float[] vec, int off, int ropeOff) {
        int nDims = c.ropeDims();
        for (int i = 0; i < nDims; i += 2) {
            float cos = rope[ropeOff + i], sin = rope[ropeOff + i + 1];
            int a = c.ropeNeox() ? off + i / 2 : off + i;
            int b = c.ropeNeox() ? off + i / 2 + nDims / 2 : off + i + 1;
            float x0 = vec[a], x1 = vec[b];
            vec[a] = x0 * cos - x1 * sin;
            vec[b] = x0 * sin + x1 * cos;
        }
    }

    private void headNorm(float[] vec, int off, float[] weight) {
        ArrayMath.rmsNorm(vec, off, vec, off, weight, c.headDim(), c.rmsEps());
    }

    private static void addBias(float[] vec, int off, float[] bias) {
        for (int i = 0; i < bias.length; i++) vec[off + i] += bias[i];
    }
}
