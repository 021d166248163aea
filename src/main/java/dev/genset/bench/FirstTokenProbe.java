package dev.genset.bench;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.Parallel;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Load-to-first-token: the time from {@link Model#load} to the first logits of a one-token prompt,
 * in a fresh JVM (so it includes opening and mapping the file, reading the vocabulary, first-touch
 * page faults on every weight and running the kernels before the JIT has compiled them).
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp genset.jar dev.genset.bench.FirstTokenProbe FILE [threads] [prompt tokens]}
 * (a prompt of more than one token goes through the batched kernels, which have their own first compilations).
 */
public final class FirstTokenProbe {
    private FirstTokenProbe() {}

    /** Nanoseconds from the start of loading to the first logits, and of the load alone. */
    public record Timing(long loadNs, long firstTokenNs) {}

    public static Timing measure(Path file, Parallel pool) throws IOException {
        return measure(file, pool, 1);
    }

    /** The same for a prompt of {@code promptTokens} tokens (ids 1, 2, ...), evaluated in one batch. */
    public static Timing measure(Path file, Parallel pool, int promptTokens) throws IOException {
        long start = System.nanoTime();
        try (Model model = Model.load(file)) {
            long loaded = System.nanoTime();
            int n = promptTokens;
            Transformer t = model.newTransformer(pool, n);
            KvCache cache = model.newCache(n + 8);
            float[] logits = new float[model.config().vocabSize()];
            int[] tokens = new int[n], positions = new int[n];
            KvCache[] caches = new KvCache[n];
            boolean[] want = new boolean[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = 1 + i;
                positions[i] = i;
                caches[i] = cache;
            }
            want[n - 1] = true;
            t.forward(n, tokens, positions, caches, want, logits);
            return new Timing(loaded - start, System.nanoTime() - start);
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: FirstTokenProbe FILE [threads] [prompt tokens]");
            System.exit(2);
        }
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        int promptTokens = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        try (Parallel pool = new Parallel(threads)) {
            Timing t = measure(Path.of(args[0]), pool, promptTokens);
            System.out.printf("load %.0f ms, load to first logits %.0f ms (%d threads, %d prompt tokens)%n", t.loadNs() / 1e6, t.firstTokenNs() / 1e6, threads, promptTokens);
        }
    }
}
