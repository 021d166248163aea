package dev.genset.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.eval.Evaluator;
import dev.genset.eval.Metric;
import dev.genset.eval.Perplexity;
import dev.genset.eval.TaskResult;
import dev.genset.eval.model.LanguageModel;
import dev.genset.eval.model.Models;
import dev.genset.eval.model.OpenAiModel;
import dev.genset.eval.report.HtmlReport;
import dev.genset.eval.report.Leaderboard;
import dev.genset.eval.report.ResultStore;
import dev.genset.eval.report.RunResult;
import dev.genset.eval.task.Task;
import dev.genset.eval.task.TaskSpec;
import dev.genset.eval.task.Tasks;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "eval", description = {
        "Evaluate models on tasks (multiple choice, generation, perplexity) as lm-evaluation-harness scores them.",
        "Results are stored under $GENSET_HOME/eval (default ~/.genset/eval) for the leaderboard."},
        subcommands = {EvalCommand.Run.class, EvalCommand.PerplexityCmd.class, EvalCommand.LeaderboardCmd.class, EvalCommand.TasksCmd.class})
final class EvalCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Which model: a GGUF file or an OpenAI-compatible endpoint. */
    static final class ModelSpec {
        @Option(names = {"-m", "--model"}, paramLabel = "M", description = {
                "A GGUF file, or an OpenAI-compatible endpoint: openai:BASE_URL[#MODEL], e.g. openai:http://127.0.0.1:8080/v1#stories260K",
                "(log-likelihoods through /v1/completions with echo and logprobs; generation through /v1/completions),",
                "or openai-chat:BASE_URL[#MODEL] to generate through /v1/chat/completions. Without #MODEL the first of /v1/models.",
                "Default: $GENSET_MODEL, else the bundled stories260K."})
        String model;

        @Option(names = "--api-key", paramLabel = "KEY", description = "Bearer token for an endpoint (default: $OPENAI_API_KEY).")
        String apiKey;

        @Option(names = "--concurrency", paramLabel = "N", defaultValue = "4", description = "Requests in flight to an endpoint (default: ${DEFAULT-VALUE}).")
        int concurrency;

        @Option(names = {"-t", "--threads"}, paramLabel = "K", description = "Worker threads for a local model (default: $GENSET_THREADS, else all cores).")
        Integer threads;

        @Option(names = {"-c", "--ctx-size"}, paramLabel = "C", description = "Context size of a local model in tokens (default: the model's, at most 4096).")
        Integer contextSize;

        @Option(names = {"-b", "--batch-size"}, paramLabel = "B", defaultValue = "128", description = "Tokens per forward pass of a local model (default: ${DEFAULT-VALUE}).")
        int batchSize;

        /** A local model's KV cache: f16 by default, as genset serve's and llama.cpp's, so local and served results agree. */
        @CommandLine.Mixin KvCacheOptions kvCache = new KvCacheOptions();

        @CommandLine.Mixin HugePagesOption hugePages = new HugePagesOption();

        String spec() {
            if (model != null && !model.isBlank()) return model;
            String env = System.getenv("GENSET_MODEL");
            if (env != null && !env.isBlank()) return env;
            return ModelOptions.bundledModel().toString();
        }

        int threads() {
            if (threads != null) {
                if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1");
                return threads;
            }
            String env = System.getenv("GENSET_THREADS");
            if (env != null && !env.isBlank()) return Integer.parseInt(env.trim());
            return Runtime.getRuntime().availableProcessors();
        }

        LanguageModel open() throws Exception {
            if (contextSize != null && contextSize < 2) throw new IllegalArgumentException("--ctx-size must be at least 2");
            hugePages.apply();
            return Models.open(spec(), threads(), contextSize, batchSize, kvCache.keyType(), kvCache.valueType(), apiKey, concurrency);
        }
    }

    @Command(name = "run", description = {
            "Run tasks on a model and print each metric with its bootstrap standard error.",
            "TASK: a bundled task (genset eval tasks), a task file (.yaml, .yml, .json),",
            "or NAME:PATH, a bundled task on other files: mmlu:DIR_OR_CSV, ceval:DIR_OR_CSV, cmmlu:DIR_OR_CSV,",
            "hellaswag:FILE.jsonl, arc:FILE.jsonl, gsm8k:FILE.jsonl (the benchmarks' published files)."})
    static final class Run implements Callable<Integer> {
        @CommandLine.Mixin ModelSpec model = new ModelSpec();

        @Parameters(arity = "1..*", paramLabel = "TASK", description = "Tasks to run.")
        List<String> tasks;

        @Option(names = "--limit", paramLabel = "N", description = "Only the first N documents of each task.")
        Integer limit;

        @Option(names = "--num-fewshot", paramLabel = "K", description = "Few-shot examples per prompt (default: each task's own).")
        Integer numFewshot;

        @Option(names = "--json", description = "Print the results as JSON.")
        boolean json;

        @Option(names = "--samples", description = "Include every document's prompt, answer and score in --json and --output.")
        boolean samples;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
        Path output;

        @Option(names = "--html", paramLabel = "FILE", description = "Write a self-contained HTML report with charts to FILE.")
        Path html;

        @Option(names = "--no-store", description = "Do not store the results for the leaderboard.")
        boolean noStore;

        @Option(names = "--bootstrap", paramLabel = "N", defaultValue = "1000", description = "Bootstrap resamples for standard errors (default: ${DEFAULT-VALUE}).")
        int bootstrap;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "1234", description = "Seed of the bootstrap (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() throws Exception {
            if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be at least 1");
            List<Task> loaded = new ArrayList<>();
            for (String t : tasks) loaded.add(Task.load(Tasks.resolve(t)));
            PrintStream out = System.out, err = System.err;
            List<TaskResult> results = new ArrayList<>();
            String name;
            try (LanguageModel lm = model.open()) {
                name = lm.name();
                Evaluator.Options opts = new Evaluator.Options(limit, numFewshot, bootstrap, seed, samples);
                for (Task t : loaded) {
                    err.printf("genset: %s (%s) on %s ...%n", t.name(), t.type().id(), name);
                    TaskResult r = Evaluator.evaluate(t, lm, opts);
                    results.add(r);
                    err.printf("genset: %s done in %.1f s%n", t.name(), r.seconds());
                }
            }
            Map<String, Object> options = new LinkedHashMap<>();
            if (limit != null) options.put("limit", limit);
            if (numFewshot != null) options.put("num_fewshot", numFewshot);
            options.put("bootstrap_iters", bootstrap);
            options.put("seed", seed);
            if (!OpenAiModel.isSpec(model.spec())) {  // a local model's cache types move its log-likelihoods a little
                options.put("cache_type_k", model.kvCache.keyType().label());
                options.put("cache_type_v", model.kvCache.valueType().label());
            }
            RunResult run = RunResult.of(name, Models.describe(model.spec()), options, results);
            if (!noStore) err.println("genset: stored " + ResultStore.standard().save(run));
            if (output != null) ResultStore.JSON.writeValue(output.toFile(), run);
            if (html != null) Files.writeString(html, HtmlReport.run(run), StandardCharsets.UTF_8);
            if (json) out.println(ResultStore.JSON.writeValueAsString(samples ? run : withoutSamples(run)));
            else out.print(table(run));
            out.flush();
            return 0;
        }

        private static RunResult withoutSamples(RunResult r) {
            return new RunResult(r.id(), r.created(), r.model(), r.source(), r.options(), r.tasks().stream().map(TaskResult::withoutSamples).toList());
        }

        static String table(RunResult run) {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "%-20s %-6s %-6s %-28s %12s   %s%n", "task", "shots", "docs", "metric", "value", "stderr"));
            for (TaskResult t : run.tasks())
                for (Map.Entry<String, Metric> e : t.metrics().entrySet())
                    sb.append(String.format(Locale.ROOT, "%-20s %-6d %-6d %-28s %12.4f   %s%n", t.task(), t.numFewshot(), t.documents(), e.getKey(),
                            e.getValue().value(), e.getValue().stderr() == null ? "" : String.format(Locale.ROOT, "± %.4f", e.getValue().stderr())));
            return sb.toString();
        }
    }

    @Command(name = "perplexity", description = {
            "Perplexity of a text file as llama.cpp's llama-perplexity computes it: the text tokenized once with BOS,",
            "cut into chunks of --ctx tokens (a shorter leftover dropped), each chunk's first token replaced by BOS,",
            "and only the second half of each chunk scored. Prints the running PPL per chunk, then PPL +/- its error."})
    static final class PerplexityCmd implements Callable<Integer> {
        @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "GGUF model file (default: $GENSET_MODEL, else the bundled stories260K).")
        String model;

        @Option(names = {"-f", "--file"}, paramLabel = "F", required = true, description = "The text file (UTF-8).")
        Path file;

        @Option(names = {"-c", "--ctx", "--ctx-size"}, paramLabel = "N", defaultValue = "512", description = "Tokens per chunk (default: ${DEFAULT-VALUE}, as llama-perplexity).")
        int ctx;

        @Option(names = {"-b", "--batch-size"}, paramLabel = "B", defaultValue = "512", description = "Tokens per forward pass (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = {"-t", "--threads"}, paramLabel = "K", description = "Worker threads (default: $GENSET_THREADS, else all cores).")
        Integer threads;

        @Option(names = "--json", description = "Print the result as JSON (ppl, stderr, tokens, ctx, chunks, scored, nll, running, type_k, type_v).")
        boolean json;

        /** f16 by default, as llama-perplexity's, whose figures these are compared with. */
        @CommandLine.Mixin KvCacheOptions kvCache = new KvCacheOptions();

        @CommandLine.Mixin HugePagesOption hugePages = new HugePagesOption();

        @Override
        public Integer call() throws Exception {
            ModelSpec ms = new ModelSpec();
            ms.model = model;
            ms.threads = threads;
            String spec = ms.spec();
            if (OpenAiModel.isSpec(spec))
                throw new IllegalArgumentException("perplexity needs a local GGUF model (for an endpoint, run a perplexity task: genset eval run story-ppl --model " + spec + ")");
            String text = Files.readString(file, StandardCharsets.UTF_8);
            PrintStream out = System.out;
            KvType keyType = kvCache.keyType(), valueType = kvCache.valueType();
            hugePages.apply();
            try (Model m = Model.load(Path.of(spec)); Parallel pool = new Parallel(ms.threads())) {
                Perplexity.Result r = Perplexity.compute(m, pool, text, ctx, batch, keyType, valueType, null);
                if (json) {
                    ObjectNode o = ResultStore.JSON.createObjectNode();
                    o.put("model", Models.describe(spec)).put("file", file.getFileName().toString())
                            .put("ppl", r.ppl()).put("stderr", r.stderr()).put("tokens", r.tokens()).put("ctx", r.ctx())
                            .put("chunks", r.chunks()).put("scored", r.scored()).put("nll", r.nll())
                            .put("type_k", keyType.label()).put("type_v", valueType.label());
                    var arr = o.putArray("running");
                    r.running().forEach(arr::add);
                    out.println(ResultStore.JSON.writeValueAsString(o));
                } else {
                    System.err.printf("genset: %d tokens, %d chunks of %d, %d tokens scored%n", r.tokens(), r.chunks(), r.ctx(), r.scored());
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < r.running().size(); i++) sb.append(String.format(Locale.ROOT, "[%d]%.4f,", i + 1, r.running().get(i)));
                    out.println(sb);
                    out.printf(Locale.ROOT, "Final estimate: PPL = %.4f +/- %.5f%n", r.ppl(), r.stderr());
                }
            }
            return 0;
        }
    }

    @Command(name = "leaderboard", description = "Stored results, models against tasks (latest result of each), best first.")
    static final class LeaderboardCmd implements Callable<Integer> {
        @Option(names = "--task", paramLabel = "T", description = "Only this task (repeatable).")
        List<String> tasks = new ArrayList<>();

        @Option(names = "--json", description = "Print the board as JSON.")
        boolean json;

        @Option(names = "--html", paramLabel = "FILE", description = "Write the board as a self-contained HTML page with charts.")
        Path html;

        @Override
        public Integer call() throws Exception {
            Leaderboard board = Leaderboard.of(ResultStore.standard().runs(), new LinkedHashSet<>(tasks));
            if (html != null) Files.writeString(html, HtmlReport.leaderboard(board), StandardCharsets.UTF_8);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("tasks", board.tasks());
                o.put("rows", board.rows());
                System.out.println(ResultStore.JSON.writeValueAsString(o));
            } else System.out.print(board.toText());
            return 0;
        }
    }

    @Command(name = "tasks", description = "List the bundled tasks.")
    static final class TasksCmd implements Callable<Integer> {
        @Override
        public Integer call() {
            for (String n : TaskSpec.bundledNames()) {
                TaskSpec s = TaskSpec.bundled(n);
                boolean files = s.dataset() != null && s.dataset().get("file") == null && s.inlineDocs() == null;
                System.out.printf("%-16s %-16s %s%n", n, s.type().id(), files ? "needs the benchmark's files: " + n + ":PATH" : "bundled data");
            }
            return 0;
        }
    }
}
