package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Whether the decoding kernels read each pair of weight groups into the cache before they multiply
 * it ({@link MatMul#readAhead}). Whether that pays depends on the machine: on a Zen 5 machine it
 * made Q4_0 generation 1.28x to 1.39x faster (the kernel's own loads, few in flight, had left the
 * memory idle), on a Zen 3 machine about 1.4x slower (its hardware prefetchers already overlap the
 * kernel with the memory, and a burst of loads comes on top): BENCHMARKS.md, rounds 25 and 34. So,
 * unless told, it is measured on the products themselves: for a trial of {@value #TRIAL_CALLS}
 * products of interleaved weights, each reads ahead or not at random, and the median times of each
 * product shape (the same matrices recur every token, or every step of a batch of sequences) decide
 * for both ways, each shape weighted by its samples (at most {@value #SAMPLES} each way, so the
 * shapes a token has once a layer count alike); the choice then holds for
 * {@value #HOLD_TRIALS} trials' worth of products before the next trial, in case the machine's
 * load changed. A trial costs a few tokens' products at the slower way; until the first ends,
 * products read ahead.
 *
 * <p>Products of one activation row (decoding one sequence) and of several (prompts, steps of
 * several sequences) choose apart ({@link #ONE_ROW}, {@link #BATCHES}): a batch's product takes
 * many times a row's and is bound by its arithmetic, so in one trial with both, the batches' times
 * decided, at about 1.0x either way, and a process that happened to choose reading ahead decoded
 * at 0.68x on a Zen 3 machine (three processes of six after a 128-token prompt; BENCHMARKS.md, round 40).
 *
 * <p>{@code -Dgenset.readAhead=}{@code auto} (the default), {@code none}, or a comma-separated list
 * of the types that always read ahead (Q4_0, Q8_0, Q4_K, Q6_K).
 */
public final class ReadAhead {
    /** Products timed in one trial, both ways together. */
    static final int TRIAL_CALLS = 1024;
    /** The choice holds this many trials' worth of timed products before it is measured again. */
    static final int HOLD_TRIALS = 64;
    /** Timed products skipped at the start: the kernels' compilation, the first repacking. */
    static final int WARM_CALLS = 256;
    /** Product shapes (by their work) a trial tells apart, and the samples a shape needs each way to count. */
    private static final int SHAPES = 32, LEAST_SAMPLES = 8;
    /** Samples kept of a shape, each way. */
    static final int SAMPLES = 64;

    /** The types whose products may read ahead. */
    private static final Set<GgmlType> TYPES = EnumSet.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K);
    /** Whether the choice is measured; otherwise {@link #FORCED} holds. */
    static final boolean AUTO;
    /** The types that read ahead when not measured (none, or those listed). */
    private static final Set<GgmlType> FORCED = EnumSet.noneOf(GgmlType.class);

    static {
        String setting = System.getProperty("genset.readAhead", "auto").strip().toUpperCase(Locale.ROOT);
        AUTO = setting.equals("AUTO");
        if (!AUTO)
            for (String name : setting.split(","))
                for (GgmlType type : TYPES) if (type.name().equals(name.strip())) FORCED.add(type);
    }

    /** The process's choice for products of one activation row, shared by every model: it is the machine's. */
    static final ReadAhead ONE_ROW = new ReadAhead(WARM_CALLS);
    /** The process's choice for products of several activation rows. */
    static final ReadAhead BATCHES = new ReadAhead(WARM_CALLS);

    /** The choice for a product of {@code batch} activation rows. */
    static ReadAhead forBatch(int batch) {
        return batch == 1 ? ONE_ROW : BATCHES;
    }

    private final long[] shapeWork = new long[SHAPES];
    /** Samples (nanoseconds) of shape s read ahead at [2s + 1], not at [2s]. */
    private final long[][] samples = new long[2 * SHAPES][SAMPLES];
    private final int[] counts = new int[2 * SHAPES];
    private int shapes, skip, timed, held;
    private boolean trial = true, on = true, measured;
    private double lastRatio = Double.NaN;
    private long random = 0x9E3779B97F4A7C15L;

    ReadAhead(int warmCalls) {
        this.skip = warmCalls;
    }

    /** Whether a product of this type reads ahead when the call's choice is {@code choice}. */
    static boolean reads(GgmlType type, boolean choice) {
        return AUTO ? choice && TYPES.contains(type) : FORCED.contains(type);
    }

    /** A group's bytes for {@link MatMul#readAhead} in a call whose choice is {@code choice}, or 0 (nothing read). */
    static long bytes(GgmlType type, boolean choice, long groupBytes) {
        return reads(type, choice) ? groupBytes : 0;
    }

    /** The choice for the next product; {@code timed} when its time will be {@link #record}ed, which in a trial makes it a coin's. */
    synchronized boolean next(boolean timed) {
        if (!timed || !trial || skip > 0) return on;
        random ^= random << 13;
        random ^= random >>> 7;
        random ^= random << 17;
        return random < 0;
    }

    /** A timed product's time: {@code work} (its multiply-adds) identifies its shape. */
    synchronized void record(boolean readAhead, long work, long nanos) {
        if (skip > 0) {
            skip--;
            return;
        }
        if (!trial) {
            if (++held >= HOLD_TRIALS * TRIAL_CALLS) startTrial();
            return;
        }
        int s = 0;
        while (s < shapes && shapeWork[s] != work) s++;
        if (s == shapes && shapes < SHAPES) shapeWork[shapes++] = work;
        if (s < shapes) {
            int i = 2 * s + (readAhead ? 1 : 0);
            if (counts[i] < SAMPLES) samples[i][counts[i]++] = nanos;
        }
        if (++timed >= TRIAL_CALLS) decide();
    }

    private void startTrial() {
        trial = true;
        held = timed = shapes = 0;
        Arrays.fill(counts, 0);
    }

    /**
     * Ends a trial: over the shapes timed enough both ways, each way's medians weighted by the
     * shape's samples; the faster way is the choice (the last one is kept where no shape was
     * timed enough).
     */
    private void decide() {
        double with = 0, without = 0;
        for (int s = 0; s < shapes; s++) {
            int a = counts[2 * s + 1], b = counts[2 * s];
            if (a < LEAST_SAMPLES || b < LEAST_SAMPLES) continue;
            with += (a + b) * (double) median(samples[2 * s + 1], a);
            without += (a + b) * (double) median(samples[2 * s], b);
        }
        if (with > 0 && without > 0) {
            on = with < without;
            measured = true;
            lastRatio = on ? without / with : with / without;
        }
        trial = false;
        held = 0;
    }

    /** The median of v[0, n), v sorted in place (insertion sort: n is small, and nothing is allocated). */
    static long median(long[] v, int n) {
        for (int i = 1; i < n; i++) {
            long x = v[i];
            int j = i - 1;
            for (; j >= 0 && v[j] > x; j--) v[j + 1] = v[j];
            v[j + 1] = x;
        }
        return (v[(n - 1) / 2] + v[n / 2]) / 2;
    }

    /** The choice as it stands, and why: for {@code genset bench}'s report. */
    synchronized String describe() {
        if (!AUTO) return FORCED.isEmpty() ? "off (set)" : "on for " + FORCED + " (set)";
        if (!measured) return "on (not yet measured)";
        return String.format(Locale.ROOT, "%s (measured: %.2fx faster than %s)", on ? "on" : "off", lastRatio, on ? "without" : "with");
    }

    /** {@link #describe} for the process's two choices. */
    public static String state() {
        return "one row " + ONE_ROW.describe() + ", batches " + BATCHES.describe();
    }

    /** 1 while the choice is to read ahead (when set: for some type), else 0. */
    synchronized double choice() {
        if (!AUTO) return FORCED.isEmpty() ? 0 : 1;
        return on ? 1 : 0;
    }

    /** How many times faster the chosen way measured than the other in the last trial; NaN before the first, or when set. */
    synchronized double gain() {
        return AUTO && measured ? lastRatio : Double.NaN;
    }

    /**
     * The process's choice as a number, for a server's metrics: 1 while products of repacked
     * Q4_0, Q8_0, Q4_K and Q6_K weights read ahead (before the first trial ends too), 0 while not;
     * for products of one activation row, or of several with {@code batches}.
     */
    public static double reading(boolean batches) {
        return (batches ? BATCHES : ONE_ROW).choice();
    }

    /** {@link #gain} of the process's choice for products of one activation row, or of several with {@code batches}. */
    public static double measuredGain(boolean batches) {
        return (batches ? BATCHES : ONE_ROW).gain();
    }
}
