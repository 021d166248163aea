package dev.genset.cli;

import dev.genset.engine.tensor.UninitializedMemory;
import picocli.CommandLine.Option;

/**
 * Transparent huge pages for the repacked weights: generation a little faster, loading slower on
 * some machines (measured in BENCHMARKS.md), so off unless asked for, as in the engines that offer it.
 */
final class HugePagesOption {
    @Option(names = "--huge-pages", description = "Keep repacked weights on transparent huge pages (Linux): "
            + "generation 1 to 2.5%% faster where measured, the first load slower on some machines.")
    boolean hugePages;

    /** Sets the process-wide choice before a model is loaded. */
    void apply() {
        UninitializedMemory.adviseHugePages(hugePages);
    }
}
