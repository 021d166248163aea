package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.bench.BandwidthProbe;
import dev.genset.bench.EngineBench;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", subcommands = {BenchServeCommand.class}, description = {
        "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.",
        "--json prints llama-bench's JSON fields; --bandwidth measures memory read bandwidth and the generation ceiling it sets."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (default: the bundled model).")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, defaultValue = "128", description = "Prompt tokens for pp (0 skips; default: ${DEFAULT-VALUE}).")
    int nPrompt;

    @Option(names = {"-n", "--n-gen"}, defaultValue = "64", description = "Tokens for tg (0 skips; default: ${DEFAULT-VALUE}).")
    int nGen;

    @Option(names = {"-t", "--threads"}, description = "Threads (default: all cores).")
    Integer threads;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "Repetitions after a warm-up (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--json", description = "Print a JSON array, one object per test, with llama-bench's field names.")
    boolean json;

    @Option(names = "--bandwidth", description = "Measure memory read bandwidth (and, with -m, the generation ceiling it sets).")
    boolean bandwidth;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1) throw new IllegalArgumentException("-r must be at least 1");
        if (nPrompt < 0 || nGen < 0) throw new IllegalArgumentException("-p and -n must not be negative");
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Path path = model != null ? model : ModelOptions.bundledModel();
        try (Parallel pool = new Parallel(nThreads)) {
            if (bandwidth) return bandwidth(pool, nThreads, model != null ? path : null);
            try (Model m = Model.load(path)) {
                List<EngineBench.Result> results = new EngineBench(m, pool).run(nPrompt, nGen, repetitions);
                if (json) printJson(m, path, nThreads, results);
                else printTable(m, nThreads, results);
            }
        }
        return 0;
    }

    private int bandwidth(Parallel pool, int nThreads, Path modelPath) throws Exception {
        double bw = BandwidthProbe.measure(pool, 1L << 30, 5);
        System.out.printf("memory read bandwidth: %.1f GB/s (%d threads, 1 GiB buffer, median of 5)%n", bw / 1e9, nThreads);
        if (modelPath != null) {
            try (Model m = Model.load(modelPath)) {
                long perToken = EngineBench.bytesPerToken(m);
                System.out.printf("weights read per generated token: %.1f MB -> generation ceiling: %.1f tokens/s%n",
                        perToken / 1e6, bw / perToken);
            }
        }
        return 0;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        } catch (Exception ignored) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    static String modelType(Model m) {
        long params = m.gguf().tensors().stream().mapToLong(GgufTensorInfo::elementCount).sum();
        String size = params >= 1e9 ? Math.round(params / 1e9) + "B" : params >= 1e8 ? String.format("%.1fB", params / 1e9) : Math.round(params / 1e6) + "M";
        return m.config().architecture() + " " + size + " " + fileTypeName(m);
    }

    static String fileTypeName(Model m) {
        int ft = m.gguf().getInt("general.file_type", -1);
        return switch (ft) {
            case 0 -> "all F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K - Medium";
            case 11 -> "Q3_K - Small";
            case 12 -> "Q3_K - Medium";
            case 13 -> "Q3_K - Large";
            case 14 -> "Q4_K - Small";
            case 15 -> "Q4_K - Medium";
            case 16 -> "Q5_K - Small";
            case 17 -> "Q5_K - Medium";
            case 18 -> "Q6_K";
            case 21 -> "Q2_K - Small";
            case 25 -> "IQ4_NL - 4.5 bpw";
            case 30 -> "IQ4_XS - 4.25 bpw";
            case 32 -> "BF16";
            default -> ft < 0 ? m.weights().output().type().name() : "ftype " + ft;
        };
    }

    private static void printTable(Model m, int threads, List<EngineBench.Result> results) {
        long params = m.gguf().tensors().stream().mapToLong(GgufTensorInfo::elementCount).sum();
        String fmt = "| %-24s | %10s | %10s | %-10s | %7s | %8s | %20s |%n";
        System.out.printf(fmt, "model", "size", "params", "backend", "threads", "test", "t/s");
        System.out.printf(fmt, "-".repeat(24), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(7), "-".repeat(8), "-".repeat(20));
        for (EngineBench.Result r : results) {
            System.out.printf(fmt, modelType(m), String.format("%.2f GiB", m.weightBytes() / (double) (1L << 30)),
                    String.format("%.2f B", params / 1e9), "CPU (Java)", threads, r.test(), String.format("%.2f ± %.2f", r.avgTs(), r.stddevTs()));
        }
        System.out.println();
        System.out.println("cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores visible; java " + Runtime.version());
    }

    private static void printJson(Model m, Path path, int threads, List<EngineBench.Result> results) throws Exception {
        ObjectMapper om = new ObjectMapper();
        ArrayNode arr = om.createArrayNode();
        long params = m.gguf().tensors().stream().mapToLong(GgufTensorInfo::elementCount).sum();
        for (EngineBench.Result r : results) {
            ObjectNode o = arr.addObject();
            o.put("build_commit", "genset");
            o.put("build_number", 0);
            o.put("cpu_info", cpuModel());
            o.put("gpu_info", "");
            o.put("backends", "CPU (Java)");
            o.put("model_filename", path.toString());
            o.put("model_type", modelType(m));
            o.put("model_size", m.weightBytes());
            o.put("model_n_params", params);
            o.put("n_batch", Math.max(1, r.nPrompt()));
            o.put("n_ubatch", Math.max(1, r.nPrompt()));
            o.put("n_threads", threads);
            o.put("type_k", "f32");
            o.put("type_v", "f32");
            o.put("n_gpu_layers", 0);
            o.put("n_prompt", r.nPrompt());
            o.put("n_gen", r.nGen());
            o.put("test_time", Instant.now().toString());
            o.put("avg_ns", Math.round(r.avgNs()));
            o.put("stddev_ns", Math.round(r.stddevNs()));
            o.put("avg_ts", r.avgTs());
            o.put("stddev_ts", r.stddevTs());
            ArrayNode ns = o.putArray("samples_ns");
            for (long s : r.samplesNs()) ns.add(s);
            ArrayNode ts = o.putArray("samples_ts");
            for (double s : r.samplesTs()) ts.add(s);
        }
        System.out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
    }
}
