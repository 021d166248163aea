package dev.genset.cli;

import dev.genset.bench.ModelShape;
import dev.genset.bench.RandomModelWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "make-model", description = "Write a random-weight GGUF with the exact shapes of a real model (for benchmarks).")
final class MakeModelCommand implements Callable<Integer> {
    @Option(names = "--shape", required = true, paramLabel = "NAME", description = "Model shape: ${COMPLETION-CANDIDATES}.", completionCandidates = Shapes.class)
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "f16, q8_0, q4_0 (output Q6_K), q4_k (output Q6_K) or q4_k_m (as q4_k, with the value and down "
            + "projections of some layers Q6_K, as llama-quantize's Q4_K_M).")
    String type;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the GGUF file.")
    Path output;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--layers", paramLabel = "N", description = "Write only the first N layers (each of the real shape): a smaller file "
            + "whose speed per layer is the real model's, for models too large to write or hold here.")
    Integer layers;

    static final class Shapes implements Iterable<String> {
        public java.util.Iterator<String> iterator() {
            return ModelShape.SHAPES.keySet().iterator();
        }
    }

    @Override
    public Integer call() throws Exception {
        ModelShape s = ModelShape.named(shape);
        if (layers != null) {
            if (layers < 1 || layers > s.layers()) throw new IllegalArgumentException("--layers must be 1 to " + s.layers() + " for " + s.name());
            s = s.withLayers(layers);
        }
        RandomModelWriter.FileType t = RandomModelWriter.FileType.parse(type);
        long start = System.nanoTime();
        new RandomModelWriter(s, t, seed).write(output);
        System.err.printf("wrote %s: %s, %s, %,d parameters, %.2f GiB in %.1f s%n", output, s.name(), type.toUpperCase(),
                s.parameters(), Files.size(output) / (double) (1L << 30), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
