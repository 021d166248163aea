package dev.genset.plan;

import dev.genset.plan.Catalogue.Accelerator;

/**
 * Serving capacity: weight memory, KV cache, tensor-parallel degree, decode and prefill ceilings,
 * and the replicas a request rate needs.
 *
 * <ul>
 *   <li>weights = params · bytes(precision); KV per token = layers · KV values per layer · bytes(kv precision)
 *       (2 · layers · KV heads · head dim · bytes for grouped-query attention);</li>
 *   <li>tensor-parallel degree: at least the smallest power of two whose usable memory (1 - overhead)
 *       holds the weights plus one sequence's KV cache at the full context; of the powers of two from
 *       there up to one server, the one needing the fewest GPUs in all (more GPUs per replica buy KV
 *       room for bigger batches and more bandwidth per step);</li>
 *   <li>decode is memory-bound: a step at batch B reads the weights once (for a mixture of experts, at
 *       most B · active parameters' bytes) plus each sequence's KV cache, and is never faster than its
 *       FLOPs (2 · active params · B) at peak; prefill takes 2 · active params · prompt tokens FLOPs
 *       (the attention-score FLOPs, quadratic in the prompt, are left out);</li>
 *   <li>request latency = prefill + output tokens · decode step; concurrency = qps · latency (Little's law);
 *       replicas = max(concurrency / batch, qps / per-replica throughput), where a replica's throughput
 *       time-shares prefill and decode: 1 / (prefill + output · step / batch).</li>
 * </ul>
 * Every rate is at {@code efficiency} × peak (1.0 = the ceiling, so the GPU count is a lower bound).
 */
public final class ServePlan {
    private ServePlan() {}

    public record Input(ModelShape model, Precision precision, Precision kvPrecision, double qps, long promptTokens,
                        long outputTokens, Long context, Accelerator gpu, double overhead, int maxBatch, double efficiency,
                        int maxTensorParallel) {
        public Input {
            if (!(qps > 0)) throw new IllegalArgumentException("--qps must be greater than zero");
            if (promptTokens < 1) throw new IllegalArgumentException("--prompt-tokens must be at least 1");
            if (outputTokens < 1) throw new IllegalArgumentException("--output-tokens must be at least 1");
            if (context != null && context < promptTokens + outputTokens)
                throw new IllegalArgumentException("--context must be at least prompt + output tokens (" + (promptTokens + outputTokens) + ")");
            if (!(overhead >= 0) || overhead >= 0.9) throw new IllegalArgumentException("--overhead must be in [0, 0.9)");
            if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be at least 1");
            if (!(efficiency > 0) || efficiency > 1) throw new IllegalArgumentException("--efficiency must be in (0, 1]");
            if (maxTensorParallel < 1) throw new IllegalArgumentException("--max-tp must be at least 1");
        }

        public long ctx() { return context != null ? context : promptTokens + outputTokens; }
    }

    public static Working plan(Input in) {
        Working w = new Working("serving plan");
        ModelShape m = in.model();
        Accelerator g = in.gpu();
        w.input("model", "model", m.name(), "", m.source());
        w.input("params", "parameters", m.params(), "", m.moe() ? "total (all experts are resident)" : "");
        if (m.moe()) w.input("active_params", "active parameters per token", m.activeParams(), "", "mixture of experts");
        w.input("layers", "layers", (long) m.layers(), "", "");
        w.input("precision", "weight precision", in.precision().id(), "", in.precision().bytes + " bytes per parameter");
        w.input("kv_precision", "KV-cache precision", in.kvPrecision().id(), "", in.kvPrecision().bytes + " bytes per value");
        w.input("gpu", "accelerator", g.id(), "", g.name() + "; " + g.source());

        double weights = w.calc("weight_bytes", "weight memory", m.params() * in.precision().bytes, "B",
                "params * bytes(precision)", Fmt.num(m.params()) + " * " + in.precision().bytes);
        w.fact("kv_values_per_layer", "KV values per token per layer", m.kvValuesPerLayer(), "", m.kvHow(), "");
        double kvTok = w.calc("kv_bytes_per_token", "KV cache per token", (double) m.layers() * m.kvValuesPerLayer() * in.kvPrecision().bytes, "B",
                "layers * kv_values_per_layer * bytes(kv_precision)", m.layers() + " * " + m.kvValuesPerLayer() + " * " + in.kvPrecision().bytes);
        long ctx = in.ctx();
        w.input("context", "context per sequence", ctx, "tokens", in.context() != null ? "--context" : "prompt + output tokens");
        if (m.contextLength() > 0 && ctx > m.contextLength())
            w.note("--context " + ctx + " exceeds the model's trained context of " + m.contextLength() + " tokens.");
        double kvSeq = w.calc("kv_bytes_per_sequence", "KV cache per sequence", kvTok * ctx, "B", "kv_bytes_per_token * context",
                Fmt.num(kvTok) + " * " + ctx);

        double usable = w.calc("usable_bytes_per_gpu", "usable memory per GPU", g.memoryBytes() * (1 - in.overhead()), "B",
                "memory_gb * 1e9 * (1 - overhead)  [overhead: activations, runtime, fragmentation]",
                Fmt.num(g.memoryGb()) + "e9 * (1 - " + Fmt.num(in.overhead()) + ")");
        int tpMin = 1;
        while (tpMin * usable < weights + kvSeq) {
            tpMin *= 2;
            if (tpMin > 4096) throw new IllegalArgumentException("the model needs more than 4096 x " + g.id() + " per replica: check --params and --precision");
        }
        w.count("gpus_per_replica_min", "fewest GPUs that hold one replica", tpMin, "",
                "smallest power of two with tp * usable_bytes_per_gpu >= weight_bytes + kv_bytes_per_sequence",
                tpMin + " * " + Fmt.num(usable) + " = " + Fmt.num(tpMin * usable) + " >= " + Fmt.num(weights) + " + " + Fmt.num(kvSeq));
        // Wider tensor parallelism buys KV room (bigger batches) and bandwidth: take the power of two
        // up to one server's worth of GPUs that needs the fewest GPUs in all (ties: the narrower).
        int tp = tpMin;
        long best = Long.MAX_VALUE;
        StringBuilder tried = new StringBuilder();
        for (int t = tpMin; t == tpMin || t <= in.maxTensorParallel(); t *= 2) {
            long total = sizing(in, t, usable, weights, kvSeq, kvTok).gpus();
            tried.append(tried.isEmpty() ? "" : "; ").append("tp ").append(t).append(": ").append(total).append(" GPUs");
            if (total < best) { best = total; tp = t; }
        }
        w.count("gpus_per_replica", "GPUs per replica (tensor parallel)", tp, "",
                "the power of two from gpus_per_replica_min to max(gpus_per_replica_min, " + in.maxTensorParallel() + ") needing the fewest GPUs",
                tried.toString());
        if (tp > in.maxTensorParallel())
            w.note("Tensor parallelism of " + tp + " spans more than one " + in.maxTensorParallel()
                    + "-GPU server: across servers use pipeline parallelism or a larger-memory accelerator instead.");
        if (m.kvHeads() > 1 && tp > m.kvHeads())
            w.note("Tensor parallelism " + tp + " exceeds the " + m.kvHeads() + " KV heads: KV heads are replicated, so the KV cache per GPU is larger than counted.");

        double kvRoom = w.calc("kv_capacity_bytes", "KV room per replica", tp * usable - weights, "B", "gpus_per_replica * usable_bytes_per_gpu - weight_bytes",
                tp + " * " + Fmt.num(usable) + " - " + Fmt.num(weights));
        long memBatch = (long) Math.floor(kvRoom / kvSeq);
        long batch = w.count("batch", "concurrent sequences per replica", Math.min(memBatch, in.maxBatch()), "",
                "min(floor(kv_capacity_bytes / kv_bytes_per_sequence), max_batch)",
                "min(floor(" + Fmt.num(kvRoom) + " / " + Fmt.num(kvSeq) + ") = " + memBatch + ", " + in.maxBatch() + ")");

        double eff = in.efficiency();
        double bw = tp * g.bandwidthBytesPerS() * eff;
        Precision.Compute comp = in.precision().compute(g);
        double flopsPeak = tp * comp.tflops() * 1e12 * eff;
        w.calc("replica_bandwidth", "replica memory bandwidth", bw, "B/s", "gpus_per_replica * memory_bandwidth_gbs * 1e9 * efficiency",
                tp + " * " + Fmt.num(g.memoryBandwidthGbs()) + "e9 * " + Fmt.num(eff));
        w.calc("replica_flops", "replica peak compute", flopsPeak, "FLOP/s", "gpus_per_replica * " + comp.what() + " * 1e12 * efficiency  [dense]",
                tp + " * " + Fmt.num(comp.tflops()) + "e12 * " + Fmt.num(eff));

        double ctxAvg = in.promptTokens() + in.outputTokens() / 2.0;
        w.calc("decode_context", "mean context while decoding", ctxAvg, "tokens", "prompt_tokens + output_tokens / 2",
                in.promptTokens() + " + " + in.outputTokens() + " / 2");
        double wActive = m.activeParams() * in.precision().bytes;
        double step1 = step(1, weights, wActive, kvTok * ctxAvg, m.activeParams(), bw, flopsPeak);
        w.calc("decode_tokens_per_s_ceiling", "decode ceiling, one sequence", 1 / step1, "tokens/s",
                "bandwidth / (active_weight_bytes + kv_bytes_per_token * decode_context)  [memory-bound at batch 1]",
                Fmt.num(bw) + " / (" + Fmt.num(wActive) + " + " + Fmt.num(kvTok) + " * " + Fmt.num(ctxAvg) + ")");
        double stepB = step(batch, weights, wActive, kvTok * ctxAvg, m.activeParams(), bw, flopsPeak);
        double readB = Math.min(weights, batch * wActive) + batch * kvTok * ctxAvg;
        w.calc("decode_step_s", "decode step at the batch", stepB, "s",
                "max((min(weight_bytes, batch * active_weight_bytes) + batch * kv_bytes_per_token * decode_context) / bandwidth, 2 * active_params * batch / replica_flops)",
                "max(" + Fmt.num(readB) + " / " + Fmt.num(bw) + ", 2 * " + Fmt.num(m.activeParams()) + " * " + batch + " / " + Fmt.num(flopsPeak) + ")");
        w.calc("decode_tokens_per_s_replica", "decode throughput per replica", batch / stepB, "tokens/s", "batch / decode_step_s",
                batch + " / " + Fmt.num(stepB));
        double prefill = w.calc("prefill_s", "prefill time per request", 2 * m.activeParams() * in.promptTokens() / flopsPeak, "s",
                "2 * active_params * prompt_tokens / replica_flops", "2 * " + Fmt.num(m.activeParams()) + " * " + in.promptTokens() + " / " + Fmt.num(flopsPeak));
        double latency = w.calc("request_latency_s", "request latency", prefill + in.outputTokens() * stepB, "s",
                "prefill_s + output_tokens * decode_step_s", Fmt.num(prefill) + " + " + in.outputTokens() + " * " + Fmt.num(stepB));
        double conc = w.calc("concurrency", "sequences in flight", in.qps() * latency, "", "qps * request_latency_s  [Little's law]",
                Fmt.num(in.qps()) + " * " + Fmt.num(latency));
        double perReplicaQps = w.calc("qps_per_replica", "requests/s per replica", 1 / (prefill + in.outputTokens() * stepB / batch), "req/s",
                "1 / (prefill_s + output_tokens * decode_step_s / batch)", "1 / (" + Fmt.num(prefill) + " + " + in.outputTokens() + " * " + Fmt.num(stepB) + " / " + batch + ")");
        long byConc = (long) Math.ceil(conc / batch - 1e-9), byRate = (long) Math.ceil(in.qps() / perReplicaQps - 1e-9);
        long replicas = w.count("replicas", "replicas", Math.max(1, Math.max(byConc, byRate)), "",
                "max(ceil(concurrency / batch), ceil(qps / qps_per_replica))",
                "max(ceil(" + Fmt.num(conc) + " / " + batch + ") = " + byConc + ", ceil(" + Fmt.num(in.qps()) + " / " + Fmt.num(perReplicaQps) + ") = " + byRate + ")");
        w.count("gpus", "GPUs", replicas * tp, "", "replicas * gpus_per_replica", replicas + " * " + tp);
        if (m.moe()) w.note("Mixture of experts: all " + Fmt.num(m.params()) + " parameters are resident; a decode step reads at most batch x "
                + Fmt.num(m.activeParams()) + " active parameters' bytes (capped at the whole weights), and FLOPs use active parameters.");
        if (eff == 1.0) w.note("Rates are at 100% of peak bandwidth and FLOPs (ceilings), so the GPU count is a lower bound; --efficiency 0.5-0.7 is closer to tuned servers.");
        return w;
    }

    /** The replica count for one tensor-parallel degree (the same arithmetic as {@link #plan}, without the working). */
    record Sizing(long batch, double step, double latency, long replicas, long gpus) {}

    static Sizing sizing(Input in, int tp, double usable, double weights, double kvSeq, double kvTok) {
        ModelShape m = in.model();
        long batch = Math.min((long) Math.floor((tp * usable - weights) / kvSeq), in.maxBatch());
        if (batch < 1) return new Sizing(0, 0, 0, Long.MAX_VALUE / 4, Long.MAX_VALUE / 4);
        double bw = tp * in.gpu().bandwidthBytesPerS() * in.efficiency();
        double flops = tp * in.precision().compute(in.gpu()).tflops() * 1e12 * in.efficiency();
        double ctxAvg = in.promptTokens() + in.outputTokens() / 2.0;
        double st = step(batch, weights, m.activeParams() * in.precision().bytes, kvTok * ctxAvg, m.activeParams(), bw, flops);
        double prefill = 2 * m.activeParams() * in.promptTokens() / flops;
        double latency = prefill + in.outputTokens() * st;
        double perReplica = 1 / (prefill + in.outputTokens() * st / batch);
        long replicas = Math.max(1, Math.max((long) Math.ceil(in.qps() * latency / batch - 1e-9), (long) Math.ceil(in.qps() / perReplica - 1e-9)));
        return new Sizing(batch, st, latency, replicas, replicas * tp);
    }

    /** Seconds per decode step at batch b: the larger of the memory time and the compute time. */
    static double step(long b, double weights, double activeWeights, double kvPerSeq, double activeParams, double bw, double flops) {
        double bytes = Math.min(weights, b * activeWeights) + b * kvPerSeq;
        return Math.max(bytes / bw, 2 * activeParams * b / flops);
    }
}
