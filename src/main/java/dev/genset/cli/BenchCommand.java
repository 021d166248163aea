package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.bench.BandwidthProbe;
import dev.genset.bench.EngineBench;
import dev.genset.bench.PassBreakdown;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tensor.ReadAhead;
import dev.genset.engine.tensor.UninitializedMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", subcommands = {BenchServeCommand.class}, description = {
        "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.",
        "Numbers may be lists and ranges, as llama-bench takes them: 128,512 or 1-4 or 64-512*2 or 0-4096+1024; every combination is run.",
        "--bandwidth measures memory read bandwidth and the generation ceiling it sets."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "FILE", split = ",", description = "GGUF models, comma-separated or repeated (default: the bundled model).")
    List<Path> models;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", defaultValue = "128", description = "Prompt tokens for pp tests (0 skips; default: ${DEFAULT-VALUE}).")
    String nPrompt;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "64", description = "Tokens for tg tests (0 skips; default: ${DEFAULT-VALUE}).")
    String nGen;

    @Option(names = {"-pg", "--prompt-gen"}, paramLabel = "PP,TG", description = "A test of PP prompt tokens then TG generated ones, timed together (repeatable).")
    List<String> promptGen = new ArrayList<>();

    @Option(names = {"-d", "--n-depth"}, paramLabel = "N", defaultValue = "0",
            description = "Tokens already in the KV cache when each test starts (computed once, untimed; default: ${DEFAULT-VALUE}).")
    String nDepth;

    @Option(names = {"-npl", "--parallel"}, paramLabel = "N", defaultValue = "1",
            description = "Sequences decoding together in each test, each with its own cache, as a server's continuous batching runs "
                    + "them (llama-batched-bench's parallel levels); every sequence's tokens count (default: ${DEFAULT-VALUE}).")
    String parallel;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores).")
    String threads;

    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache type of keys: f16, f32, q8_0 or q4_0, or a list (default: ${DEFAULT-VALUE}, as llama-bench's).")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache type of values: f16, f32, q8_0 or q4_0, or a list (default: ${DEFAULT-VALUE}).")
    String cacheTypeV;

    @picocli.CommandLine.Mixin
    HugePagesOption hugePages = new HugePagesOption();

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "Repetitions after a warm-up (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--no-warmup", description = "Skip the model's warm-up before its tests (the forward pass a server runs as it loads "
            + "a model, for the most sequences --parallel asks). Without it, what the JIT compiles first is the first test's path: generation measured after a prompt "
            + "test ran about 0.9x as fast as after the warm-up.")
    boolean noWarmup;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "md",
            description = "md (a table), csv, json (one array) or jsonl (one object a line), with llama-bench's field names (default: ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--json", description = "The same as -o json.")
    boolean json;

    @Option(names = "--breakdown", description = "Also break each test's timed passes down: each kind of matrix product's time, "
            + "share, weights read and multiply-adds a second, the layers' attention, and the rest (norms, rotary embeddings, KV cache "
            + "writes): a table after the results (on standard error with -o csv), or with -o json or jsonl a field of each result.")
    boolean breakdown;

    @Option(names = "--bandwidth", description = "Measure memory read bandwidth (and, with -m, the generation ceiling it sets).")
    boolean bandwidth;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1) throw new IllegalArgumentException("-r must be at least 1");
        String format = json ? "json" : output;
        if (!List.of("md", "csv", "json", "jsonl").contains(format))
            throw new IllegalArgumentException("-o takes md, csv, json or jsonl, not '" + output + "'");
        List<Integer> prompts = numbers("-p", nPrompt), gens = numbers("-n", nGen), depths = numbers("-d", nDepth),
                parallels = numbers("--parallel", parallel);
        for (int n : parallels) if (n < 1) throw new IllegalArgumentException("--parallel must be at least 1, not " + n);
        List<Integer> threadCounts = threads != null ? numbers("-t", threads) : List.of(Runtime.getRuntime().availableProcessors());
        for (int t : threadCounts) if (t < 1) throw new IllegalArgumentException("-t must be at least 1, not " + t);
        List<KvType> keyTypes = types(cacheTypeK), valueTypes = types(cacheTypeV);
        List<EngineBench.Test> tests = new ArrayList<>();
        for (int p : prompts) if (p > 0) tests.add(EngineBench.Test.pp(p));
        for (int n : gens) if (n > 0) tests.add(EngineBench.Test.tg(n));
        for (String pg : promptGen) tests.add(promptGen(pg));
        List<EngineBench.Test> single = List.copyOf(tests);
        tests.clear();
        for (int n : parallels) for (EngineBench.Test test : single) tests.add(test.times(n));
        int sequences = parallels.stream().mapToInt(Integer::intValue).max().orElse(1);
        if (tests.isEmpty() && !bandwidth) throw new IllegalArgumentException("no test to run: -p and -n are 0 and no -pg was given");
        boolean modelsGiven = models != null && !models.isEmpty();
        List<Path> paths = modelsGiven ? models : List.of(ModelOptions.bundledModel());

        if (bandwidth) {
            for (int t : threadCounts)
                try (Parallel pool = new Parallel(t)) {
                    bandwidth(pool, t, modelsGiven ? paths.get(0) : null);
                }
            return 0;
        }
        hugePages.apply();
        boolean typeColumns = !keyTypes.equals(List.of(KvType.F16)) || !valueTypes.equals(List.of(KvType.F16));
        Report report = new Report(format, typeColumns);
        for (Path path : paths) {
            try (Model m = Model.load(path)) {
                for (int t : threadCounts)
                    try (Parallel pool = new Parallel(t)) {
                        for (KvType k : keyTypes)
                            for (KvType v : valueTypes) {
                                if (!noWarmup) m.warmUp(pool, k, v, sequences);
                                m.awaitRepacking();  // every test on the repacked forms, as a served or chatting model runs
                                EngineBench bench = new EngineBench(m, pool, k, v);
                                if (breakdown) bench.breakDown();
                                for (int depth : depths)
                                    for (EngineBench.Result r : bench.measure(tests, depth, repetitions)) report.add(m, path, t, k, v, r);
                                for (String warning : bench.warnings()) System.err.println(warning);
                            }
                    }
            }
        }
        report.finish();
        return 0;
    }

    /** The values of -ctk or -ctv: comma-separated type names. */
    static List<KvType> types(String spec) {
        List<KvType> types = new ArrayList<>();
        for (String item : spec.split(",", -1)) types.add(KvType.parse(item));
        return types;
    }

    /**
     * The values of a numeric option as llama-bench reads them: comma-separated items, each a number
     * or a range {@code first-last} (step 1), {@code first-last+step} or {@code first-last*factor}.
     */
    static List<Integer> numbers(String option, String spec) {
        List<Integer> values = new ArrayList<>();
        for (String item : spec.split(",", -1)) {
            String s = item.strip();
            try {
                int dash = s.indexOf('-', 1);
                if (dash < 0) {
                    values.add(nonNegative(option, Integer.parseInt(s)));
                    continue;
                }
                int op = Math.max(s.indexOf('+', dash), s.indexOf('*', dash));
                int first = nonNegative(option, Integer.parseInt(s.substring(0, dash)));
                int last = nonNegative(option, Integer.parseInt(op < 0 ? s.substring(dash + 1) : s.substring(dash + 1, op)));
                int by = op < 0 ? 1 : Integer.parseInt(s.substring(op + 1));
                boolean times = op >= 0 && s.charAt(op) == '*';
                if (times ? by < 2 || first < 1 : by < 1)
                    throw new IllegalArgumentException(option + ": the range '" + s + "' never reaches its end");
                if (last < first) throw new IllegalArgumentException(option + ": the range '" + s + "' ends before it starts");
                for (long v = first; v <= last; v = times ? v * by : v + by) {
                    values.add((int) v);
                    if (values.size() > 10_000) throw new IllegalArgumentException(option + ": '" + spec + "' gives more than 10,000 values");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " takes numbers, lists (128,512) and ranges (1-4, 64-512*2, 0-4096+1024), not '" + spec + "'");
            }
        }
        return values;
    }

    private static int nonNegative(String option, int v) {
        if (v < 0) throw new IllegalArgumentException(option + " must not be negative, not " + v);
        return v;
    }

    /** One -pg value, "PP,TG". */
    static EngineBench.Test promptGen(String spec) {
        String[] parts = spec.split(",");
        try {
            if (parts.length == 2) {
                int pp = Integer.parseInt(parts[0].strip()), tg = Integer.parseInt(parts[1].strip());
                if (pp > 0 && tg > 0) return new EngineBench.Test(pp, tg, 0);
            }
        } catch (NumberFormatException ignored) {
            // the message below says what is expected
        }
        throw new IllegalArgumentException("-pg takes two positive numbers, prompt tokens and generated ones (512,128), not '" + spec + "'");
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
        String size = params >= 1e9 ? Math.round(params / 1e9) + "B" : params >= 1e8 ? String.format("%.1fB", params / 1e9)
                : params >= 1e6 ? Math.round(params / 1e6) + "M" : Math.round(params / 1e3) + "K";
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

    /** Prints results in the chosen format: table, CSV and JSON lines row by row as tests finish, a JSON array at the end. */
    private static final class Report {
        private static final String ROW = "| %-24s | %10s | %10s | %-10s | %7s | %16s | %20s |%n";
        private static final String TYPED_ROW = "| %-24s | %10s | %10s | %-10s | %7s | %6s | %6s | %16s | %20s |%n";
        private final String format;
        private final boolean typeColumns;
        private final ObjectMapper om = new ObjectMapper();
        private final ArrayNode all = om.createArrayNode();
        private boolean started;

        /** typeColumns: the table shows the KV cache types (as llama-bench does when they are not its default). */
        Report(String format, boolean typeColumns) {
            this.format = format;
            this.typeColumns = typeColumns;
        }

        /** A result, and its breakdown where it has one: a table after the results, or in JSON a field of the result's object. */
        void add(Model m, Path path, int threads, KvType keyType, KvType valueType, EngineBench.Result r) throws Exception {
            ObjectNode o = fields(m, path, threads, keyType, valueType, r);
            PassBreakdown b = r.breakdown();
            if (b != null) {
                if (format.startsWith("json")) o.set("breakdown", breakdownJson(b));
                else breakdown(m, threads, r, b);
            }
            switch (format) {
                case "md" -> {
                    String ts = String.format("%.2f ± %.2f", r.avgTs(), r.stddevTs());
                    String type = modelType(m), size = size(m.weightBytes()), params = count(o.get("model_n_params").asLong());
                    if (typeColumns) {
                        if (!started) {
                            System.out.printf(TYPED_ROW, "model", "size", "params", "backend", "threads", "type_k", "type_v", "test", "t/s");
                            System.out.printf(TYPED_ROW, "-".repeat(24), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(7), "-".repeat(6), "-".repeat(6),
                                    "-".repeat(16), "-".repeat(20));
                        }
                        System.out.printf(TYPED_ROW, type, size, params, "CPU (Java)", threads, keyType.label(), valueType.label(), r.test(), ts);
                    } else {
                        if (!started) {
                            System.out.printf(ROW, "model", "size", "params", "backend", "threads", "test", "t/s");
                            System.out.printf(ROW, "-".repeat(24), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(7), "-".repeat(16), "-".repeat(20));
                        }
                        System.out.printf(ROW, type, size, params, "CPU (Java)", threads, r.test(), ts);
                    }
                }
                case "csv" -> {
                    List<String> names = new ArrayList<>(), values = new ArrayList<>();
                    o.fields().forEachRemaining(f -> {
                        if (f.getValue().isArray()) return;  // samples: not in llama-bench's CSV either
                        names.add(f.getKey());
                        values.add(csv(f.getValue().asText()));
                    });
                    if (!started) System.out.println(String.join(",", names));
                    System.out.println(String.join(",", values));
                }
                case "jsonl" -> System.out.println(om.writeValueAsString(o));
                default -> all.add(o);
            }
            System.out.flush();
            started = true;
        }

        void finish() throws Exception {
            if (format.equals("json")) System.out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(all));
            else if (format.equals("md")) {
                System.out.println();
                System.out.println("cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores visible; java " + Runtime.version()
                        + "; reading weights ahead: " + ReadAhead.state());
            }
            var to = format.equals("md") ? System.out : System.err;  // CSV's rows have no room for them
            for (String table : breakdowns) {
                to.println();
                to.print(table);
            }
        }

        private final List<String> breakdowns = new ArrayList<>();
        private static final String PART_ROW = "| %-16s | %-10s | %10s | %9s | %6s | %7s | %8s |%n";

        /** A test's breakdown, as a table printed after the results. */
        private void breakdown(Model m, int threads, EngineBench.Result r, PassBreakdown b) {
            var out = new StringBuilder();
            double tokens = Math.max(1, b.tokens()), passes = Math.max(1, b.passes());
            out.append(String.format("%s, %s, %d threads: where the time went (%d repetitions, %d tokens, %.2f ms a token)%n%n",
                    r.test(), modelType(m), threads, r.samplesNs().length, b.tokens(), b.passNanos() / 1e6 / tokens));
            out.append(String.format(PART_ROW, "part", "weights", "calls/pass", "ms/token", "share", "GB/s", "GMAC/s"));
            out.append(String.format(PART_ROW, "-".repeat(16), "-".repeat(10), "-".repeat(10), "-".repeat(9), "-".repeat(6), "-".repeat(7), "-".repeat(8)));
            for (PassBreakdown.Row row : b.rows())
                out.append(String.format(PART_ROW, row.part().label, String.join(",", row.types()), String.format("%.1f", row.calls() / passes),
                        String.format("%.3f", row.nanos() / 1e6 / tokens), share(row.nanos(), b.passNanos()),
                        row.weightBytes() == 0 ? "-" : String.format("%.1f", row.weightBytes() / (double) row.nanos()),
                        row.multiplyAdds() == 0 ? "-" : String.format("%.1f", row.multiplyAdds() / (double) row.nanos())));
            out.append(String.format(PART_ROW, "the rest", "", "", String.format("%.3f", b.betweenNanos() / 1e6 / tokens),
                    share(b.betweenNanos(), b.passNanos()), "", ""));
            breakdowns.add(out.toString());
        }

        /**
         * Not llama-bench's: a result's breakdown as totals over its timed repetitions, each part's
         * products (or attention) with their calls, nanoseconds, weights' bytes read and multiply-adds
         * (0 where not known ahead), and the rest's nanoseconds.
         */
        private ObjectNode breakdownJson(PassBreakdown b) {
            ObjectNode o = om.createObjectNode();
            o.put("tokens", b.tokens());
            o.put("passes", b.passes());
            o.put("ns", b.passNanos());
            ArrayNode parts = o.putArray("parts");
            for (PassBreakdown.Row row : b.rows()) {
                ObjectNode p = parts.addObject();
                p.put("part", row.part().label);
                p.put("weights", String.join(",", row.types()));
                p.put("calls", row.calls());
                p.put("ns", row.nanos());
                p.put("weight_bytes", row.weightBytes());
                p.put("multiply_adds", row.multiplyAdds());
            }
            parts.addObject().put("part", "the rest").put("ns", b.betweenNanos());
            return o;
        }

        private static String share(long part, long whole) {
            return whole <= 0 ? "-" : String.format("%.1f%%", 100.0 * part / whole);
        }

        /** Sizes and counts as llama-bench prints them. */
        private static String size(long bytes) {
            return bytes >= 1L << 30 ? String.format("%.2f GiB", bytes / 0x1p30) : String.format("%.2f MiB", bytes / 0x1p20);
        }

        private static String count(long n) {
            return n >= 1e9 ? String.format("%.2f B", n / 1e9) : n >= 1e6 ? String.format("%.2f M", n / 1e6) : String.format("%.2f K", n / 1e3);
        }

        private static String csv(String v) {
            return "\"" + v.replace("\"", "\"\"") + "\"";
        }

        private ObjectNode fields(Model m, Path path, int threads, KvType keyType, KvType valueType, EngineBench.Result r) {
            long params = m.gguf().tensors().stream().mapToLong(GgufTensorInfo::elementCount).sum();
            ObjectNode o = om.createObjectNode();
            o.put("build_commit", "genset");
            o.put("build_number", 0);
            o.put("cpu_info", cpuModel());
            o.put("gpu_info", "");
            o.put("backends", "CPU (Java)");
            o.put("model_filename", path.toString());
            o.put("model_type", modelType(m));
            o.put("model_size", m.weightBytes());
            o.put("model_n_params", params);
            o.put("n_batch", Math.max(1, r.nPrompt()) * r.sequences());
            o.put("n_ubatch", Math.max(1, r.nPrompt()) * r.sequences());
            o.put("n_threads", threads);
            o.put("type_k", keyType.label());
            o.put("type_v", valueType.label());
            o.put("huge_pages", UninitializedMemory.hugePagesAdvised());  // not llama-bench's: repacked weights on transparent huge pages
            o.put("n_gpu_layers", 0);
            o.put("n_prompt", r.nPrompt());
            o.put("n_gen", r.nGen());
            o.put("n_depth", r.nDepth());
            o.put("n_parallel", r.sequences());  // not llama-bench's: sequences decoding together
            o.put("test_time", Instant.now().toString());
            o.put("avg_ns", Math.round(r.avgNs()));
            o.put("stddev_ns", Math.round(r.stddevNs()));
            o.put("avg_ts", r.avgTs());
            o.put("stddev_ts", r.stddevTs());
            ArrayNode ns = o.putArray("samples_ns");
            for (long s : r.samplesNs()) ns.add(s);
            ArrayNode ts = o.putArray("samples_ts");
            for (double s : r.samplesTs()) ts.add(s);
            return o;
        }
    }
}
