package dev.genset.engine.tensor;

/**
 * Whether the process is still in its cold start: from its launch until its first forward pass
 * has ended, or until a pass of more than {@link #MAX_ROWS} rows begins. Meanwhile the forward
 * pass's small vector operations (quantizing the activations, the attention's and SwiGLU's
 * element loops) run their scalar twins, which give the same bits: the vector code would run
 * uncompiled, through the Vector API's fallback (an object per operation), and its compilations,
 * and the fallback's, would queue on the one C2 thread ahead of the first token, where the scalar
 * loops run well interpreted and compile in milliseconds. The products' kernels are not affected:
 * they are compiled before they run (the launcher's JIT flags).
 *
 * <p>Load to first token of a one-word prompt on 0.6 and 1.1 GB files, two-core Zen 3: 0.66x to 0.73x
 * (BENCHMARKS.md, round 40). Not volatile: a thread that sees the end late computes the same
 * numbers the other way. {@code -Dgenset.coldStart=false} runs the vector code from the start (the
 * test suite does, so that its tests of the vector code run it whatever their order).
 */
public final class ColdStart {
    /** A first pass of more rows than this runs the vector code: its attention grows as the square of its rows. */
    public static final int MAX_ROWS = 16;

    private static boolean on = !"false".equals(System.getProperty("genset.coldStart"));

    private ColdStart() {}

    /** True while the cold start lasts. */
    public static boolean on() {
        return on;
    }

    /** Ends the cold start: from now on the vector code runs. */
    public static void end() {
        on = false;
    }

    /** Back to a cold start, for tests that compare a cold pass with a warm one. */
    public static void restart() {
        on = true;
    }
}
