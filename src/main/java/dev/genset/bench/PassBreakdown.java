package dev.genset.bench;

import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.model.Weights;
import dev.genset.engine.tensor.FloatTensor;
import dev.genset.engine.tensor.MatMul;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where a test's time goes ({@code genset bench --breakdown}): each kind of matrix product's share
 * of the timed passes, the layers' attention's, and what runs besides (norms, rotary embeddings,
 * the KV cache's writes, the residual adds). A product is timed from its call to its return,
 * activations quantized and every thread's share done, so its time includes its threads' uneven
 * ends; attention likewise. Only what runs on the thread that made the breakdown counts.
 */
public final class PassBreakdown implements MatMul.ProductTimer, Transformer.AttentionTimer {

    /** The kinds of product a forward pass has, named as llama.cpp names the tensors. */
    public enum Part {
        ATTN_QKV("attn_q,k,v"),
        /** Not a product: each layer's attention over the KV cache (scores, softmax, weighted values). */
        ATTENTION("attention"),
        ATTN_OUTPUT("attn_output"),
        FFN_GATE_UP("ffn_gate,up"),
        FFN_DOWN("ffn_down"),
        FFN_ROUTER("ffn_gate_inp"),
        FFN_EXPERTS("ffn_*_exps"),
        OUTPUT("output"),
        OTHER("other products");

        public final String label;

        Part(String label) {
            this.label = label;
        }
    }

    /**
     * One part's totals over the timed passes: its products' weights read and multiply-adds (0 where
     * routing decides which experts' weights), and the weights' types.
     */
    public record Row(Part part, Set<String> types, long calls, long nanos, long weightBytes, long multiplyAdds) {}

    private final Thread owner = Thread.currentThread();
    private final Map<FloatTensor, Part> parts = new IdentityHashMap<>();
    /** Bytes and values of weights a product read, by its first matrix (a fused product's are its matrices' together). */
    private final Map<FloatTensor, long[]> productWeights = new IdentityHashMap<>();
    private final Map<Part, Set<String>> types = new EnumMap<>(Part.class);
    private final long[] calls = new long[Part.values().length], nanos = new long[Part.values().length], bytes = new long[Part.values().length],
            multiplyAdds = new long[Part.values().length];
    private long passNanos, tokens;

    public PassBreakdown(Model model) {
        Weights w = model.weights();
        for (Weights.Layer layer : w.layers()) {
            add(Part.ATTN_QKV, layer.wq(), layer.wq(), layer.wk(), layer.wv());
            add(Part.ATTN_OUTPUT, layer.wo(), layer.wo());
            if (layer.router() == null) {
                add(Part.FFN_GATE_UP, layer.wGate(), layer.wGate(), layer.wUp());
                add(Part.FFN_DOWN, layer.wDown(), layer.wDown());
            } else {
                add(Part.FFN_ROUTER, layer.router(), layer.router());
                for (int e = 0; e < layer.expertGate().length; e++) {
                    add(Part.FFN_EXPERTS, layer.expertGate()[e]);
                    add(Part.FFN_EXPERTS, layer.expertUp()[e]);
                    add(Part.FFN_EXPERTS, layer.expertDown()[e]);
                }
            }
        }
        add(Part.OUTPUT, w.output(), w.output());
    }

    /** The product keyed by {@code key} belongs to {@code part} and reads {@code read} (none: its bytes are not known ahead). */
    private void add(Part part, FloatTensor key, FloatTensor... read) {
        parts.put(key, part);
        long total = 0, values = 0;
        for (FloatTensor t : read) {
            total += t.type().byteSize(t.size());
            values += t.size();
            types.computeIfAbsent(part, p -> new TreeSet<>()).add(t.type().name());
        }
        if (read.length == 0) types.computeIfAbsent(part, p -> new TreeSet<>()).add(key.type().name());
        productWeights.put(key, new long[] {total, values});
    }

    @Override
    public void product(FloatTensor weights, int batch, long nanos) {
        if (Thread.currentThread() != owner) return;
        Part part = parts.getOrDefault(weights, Part.OTHER);
        calls[part.ordinal()]++;
        this.nanos[part.ordinal()] += nanos;
        long[] read = productWeights.getOrDefault(weights, NOTHING);
        bytes[part.ordinal()] += read[0];
        multiplyAdds[part.ordinal()] += read[1] * batch;
        if (part == Part.OTHER) types.computeIfAbsent(part, p -> new TreeSet<>()).add(weights.type().name());
    }

    private static final long[] NOTHING = {0, 0};

    @Override
    public void attention(int rows, long nanos) {
        if (Thread.currentThread() != owner) return;
        calls[Part.ATTENTION.ordinal()]++;
        this.nanos[Part.ATTENTION.ordinal()] += nanos;
    }

    /** Forgets what it was told so far (a warm-up's products). */
    public void clear() {
        Arrays.fill(calls, 0);
        Arrays.fill(nanos, 0);
        Arrays.fill(bytes, 0);
        Arrays.fill(multiplyAdds, 0);
        passNanos = tokens = 0;
    }

    /** Adds a timed stretch of passes: its wall time and the tokens it processed. */
    public void pass(long nanos, long tokens) {
        passNanos += nanos;
        this.tokens += tokens;
    }

    /** Wall time of the timed passes. */
    public long passNanos() {
        return passNanos;
    }

    /** Tokens the timed passes processed. */
    public long tokens() {
        return tokens;
    }

    /** The parts that ran, in pass order. */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (Part p : Part.values())
            if (calls[p.ordinal()] > 0) rows.add(new Row(p, types.getOrDefault(p, Set.of()), calls[p.ordinal()], nanos[p.ordinal()], bytes[p.ordinal()], multiplyAdds[p.ordinal()]));
        return rows;
    }

    /** Forward passes timed: the output's products (one a pass that wants logits), or 0 where none was. */
    public long passes() {
        return calls[Part.OUTPUT.ordinal()];
    }

    /** The passes' time outside every product and attention. */
    public long betweenNanos() {
        long inProducts = 0;
        for (long n : nanos) inProducts += n;
        return passNanos - inProducts;
    }
}
