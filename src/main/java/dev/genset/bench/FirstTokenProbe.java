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
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp genset.jar dev.genset.bench.FirstTokenProbe FILE [threads]}
 */
public final class FirstTokenProbe {
    private FirstTokenProbe() {}

    /** Nanoseconds from the start of loading to the first logits, and of the load alone. */
    public record Timing(long loadNs, long firstTokenNs) {}

    public static Timing measure(Path file, Parallel pool) throws IOException {
        long start = System.nanoTime();
        try (Model model = Model.load(file)) {
            long loaded = System.nanoTime();
            Transformer t = model.newTransformer(pool, 1);
            KvCache cache = model.newCache(8);
            float[] logits = new float[model.config().vocabSize()];
            t.forward(1, new int[] {1}, new int[] {0}, new KvCache[] {cache}, new boolean[] {true}, logits);
            return new Timing(loaded - start, System.nanoTime() - start);
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: FirstTokenProbe FILE [threads]");
            System.exit(2);
        }
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        try (Parallel pool = new Parallel(threads)) {
            Timing t = measure(Path.of(args[0]), pool);
            System.out.printf("load %.0f ms, load to first logits %.0f ms (%d threads)%n", t.loadNs() / 1e6, t.firstTokenNs() / 1e6, threads);
        }
    }
}
