package dev.genset.eval;

import dev.genset.eval.model.GenerationRequest;
import dev.genset.eval.model.LanguageModel;
import dev.genset.eval.model.LoglikelihoodRequest;
import dev.genset.eval.model.LoglikelihoodResult;
import dev.genset.eval.model.RollingResult;
import dev.genset.eval.task.Filter;
import dev.genset.eval.task.Task;
import dev.genset.eval.task.TaskType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a task on a model and scores it as lm-evaluation-harness does:
 *
 * <ul>
 *   <li>multiple_choice: each choice's log-likelihood after the prompt (target delimiter in
 *       front); {@code acc}: the most likely choice is right; {@code acc_norm}: the same with each
 *       log-likelihood divided by the choice's length in characters;</li>
 *   <li>generate_until: greedy generation until a stop string, the answer extracted by each
 *       filter and compared with the target: {@code exact_match} (one per filter);</li>
 *   <li>perplexity: the log-likelihood of each document's whole text;
 *       {@code token_perplexity}, {@code word_perplexity}, {@code byte_perplexity} (exp of the
 *       negative log-likelihood per token, per whitespace-separated word, per UTF-8 byte, summed
 *       over all documents) and {@code bits_per_byte}.</li>
 * </ul>
 * Standard errors are bootstrapped over documents with a fixed seed.
 */
public final class Evaluator {
    /**
     * @param limit          evaluate only the first documents (null: all)
     * @param numFewshot     overrides the task's number of few-shot examples (null: the task's)
     * @param bootstrapIters resamples for standard errors
     * @param seed           seed of the resampling
     * @param keepSamples    return per-document details
     */
    public record Options(Integer limit, Integer numFewshot, int bootstrapIters, long seed, boolean keepSamples) {
        public static Options defaults() {
            return new Options(null, null, Bootstrap.DEFAULT_ITERATIONS, Bootstrap.DEFAULT_SEED, false);
        }

        public Options withLimit(Integer l) {
            return new Options(l, numFewshot, bootstrapIters, seed, keepSamples);
        }

        public Options withNumFewshot(Integer k) {
            return new Options(limit, k, bootstrapIters, seed, keepSamples);
        }

        public Options withSamples(boolean keep) {
            return new Options(limit, numFewshot, bootstrapIters, seed, keep);
        }
    }

    private Evaluator() {}

    public static TaskResult evaluate(Task task, LanguageModel model, Options options) {
        long start = System.nanoTime();
        List<Map<String, Object>> docs = task.docs();
        if (options.limit() != null && options.limit() < docs.size()) docs = docs.subList(0, Math.max(0, options.limit()));
        if (docs.isEmpty()) throw new IllegalArgumentException("task " + task.name() + " has no documents");
        int k = options.numFewshot() != null ? options.numFewshot() : task.spec().numFewshot();
        Scored s = switch (task.type()) {
            case MULTIPLE_CHOICE -> multipleChoice(task, model, docs, k, options);
            case GENERATE_UNTIL -> generateUntil(task, model, docs, k, options);
            case PERPLEXITY -> perplexity(task, model, docs, options);
        };
        double seconds = (System.nanoTime() - start) / 1e9;
        return new TaskResult(task.name(), task.type().id(), model.name(), task.type() == TaskType.PERPLEXITY ? 0 : k, docs.size(),
                s.metrics, Math.round(seconds * 1000) / 1000.0, options.keepSamples() ? s.samples : null);
    }

    private record Scored(Map<String, Metric> metrics, List<Map<String, Object>> samples) {}

    private static Scored multipleChoice(Task task, LanguageModel model, List<Map<String, Object>> docs, int k, Options o) {
        List<String> contexts = task.contexts(docs, k);
        List<LoglikelihoodRequest> requests = new ArrayList<>();
        List<List<String>> choices = new ArrayList<>();
        int[] gold = new int[docs.size()];
        for (int i = 0; i < docs.size(); i++) {
            List<String> ch = task.choices(docs.get(i));
            choices.add(ch);
            gold[i] = task.targetIndex(docs.get(i), ch);
            for (String c : ch) requests.add(new LoglikelihoodRequest(contexts.get(i), task.spec().targetDelimiter() + c));
        }
        List<LoglikelihoodResult> results = model.loglikelihood(requests);
        double[] acc = new double[docs.size()], accNorm = new double[docs.size()];
        List<Map<String, Object>> samples = new ArrayList<>();
        int r = 0;
        for (int i = 0; i < docs.size(); i++) {
            List<String> ch = choices.get(i);
            double[] lls = new double[ch.size()];
            int best = 0, bestNorm = 0;
            double bestNormValue = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < ch.size(); c++) {
                lls[c] = results.get(r++).logprob();
                if (lls[c] > lls[best]) best = c;
                double norm = lls[c] / Math.max(1, ch.get(c).length());
                if (norm > bestNormValue) {
                    bestNormValue = norm;
                    bestNorm = c;
                }
            }
            acc[i] = best == gold[i] ? 1 : 0;
            accNorm[i] = bestNorm == gold[i] ? 1 : 0;
            if (o.keepSamples()) {
                Map<String, Object> sample = new LinkedHashMap<>();
                sample.put("doc", i);
                sample.put("context", contexts.get(i));
                sample.put("choices", ch);
                sample.put("target", gold[i]);
                sample.put("loglikelihoods", lls);
                sample.put("prediction", best);
                sample.put("acc", acc[i]);
                sample.put("acc_norm", accNorm[i]);
                samples.add(sample);
            }
        }
        Map<String, Metric> metrics = new LinkedHashMap<>();
        metrics.put("acc", Metric.of(mean(acc), Bootstrap.meanStderr(acc, o.bootstrapIters(), o.seed())));
        metrics.put("acc_norm", Metric.of(mean(accNorm), Bootstrap.meanStderr(accNorm, o.bootstrapIters(), o.seed())));
        return new Scored(metrics, samples);
    }

    private static Scored generateUntil(Task task, LanguageModel model, List<Map<String, Object>> docs, int k, Options o) {
        List<String> contexts = task.contexts(docs, k);
        List<GenerationRequest> requests = new ArrayList<>();
        for (String c : contexts) requests.add(new GenerationRequest(c, task.spec().until(), task.spec().maxTokens()));
        List<String> outputs = model.generate(requests);
        List<Filter> filters = task.spec().filters();
        double[][] em = new double[filters.size()][docs.size()];
        List<Map<String, Object>> samples = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            String target = task.targetText(docs.get(i));
            Map<String, Object> answers = new LinkedHashMap<>();
            for (int f = 0; f < filters.size(); f++) {
                String answer = filters.get(f).apply(outputs.get(i));
                em[f][i] = ExactMatch.matches(answer, target, task.spec().match()) ? 1 : 0;
                answers.put(filters.get(f).name(), answer);
            }
            if (o.keepSamples()) {
                Map<String, Object> sample = new LinkedHashMap<>();
                sample.put("doc", i);
                sample.put("context", contexts.get(i));
                sample.put("generation", outputs.get(i));
                sample.put("answers", answers);
                sample.put("target", target);
                sample.put("exact_match", em[0][i]);
                samples.add(sample);
            }
        }
        Map<String, Metric> metrics = new LinkedHashMap<>();
        for (int f = 0; f < filters.size(); f++) {
            String name = filters.size() == 1 && filters.get(f).name().equals("none") ? "exact_match" : "exact_match," + filters.get(f).name();
            metrics.put(name, Metric.of(mean(em[f]), Bootstrap.meanStderr(em[f], o.bootstrapIters(), o.seed())));
        }
        return new Scored(metrics, samples);
    }

    private static Scored perplexity(Task task, LanguageModel model, List<Map<String, Object>> docs, Options o) {
        List<String> texts = docs.stream().map(d -> task.spec().text().render(d)).toList();
        int ctx = model.contextLength();
        int window = task.spec().window() != null ? task.spec().window() : ctx;
        if (ctx > 0) window = Math.min(window, ctx);
        int stride = task.spec().stride() != null ? Math.min(task.spec().stride(), window) : window;
        List<RollingResult> rolled = model.loglikelihoodRolling(texts, window, stride);
        int n = docs.size();
        double[] ll = new double[n], tokens = new double[n], words = new double[n], bytes = new double[n];
        List<Map<String, Object>> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ll[i] = rolled.get(i).logprob();
            tokens[i] = rolled.get(i).tokens();
            words[i] = words(texts.get(i));
            bytes[i] = texts.get(i).getBytes(StandardCharsets.UTF_8).length;
            if (o.keepSamples()) {
                Map<String, Object> sample = new LinkedHashMap<>();
                sample.put("doc", i);
                sample.put("loglikelihood", ll[i]);
                sample.put("tokens", rolled.get(i).tokens());
                sample.put("words", (int) words[i]);
                sample.put("bytes", (int) bytes[i]);
                samples.add(sample);
            }
        }
        Map<String, Metric> metrics = new LinkedHashMap<>();
        metrics.put("token_perplexity", ratioMetric(ll, tokens, false, o));
        metrics.put("word_perplexity", ratioMetric(ll, words, false, o));
        metrics.put("byte_perplexity", ratioMetric(ll, bytes, false, o));
        metrics.put("bits_per_byte", ratioMetric(ll, bytes, true, o));
        metrics.put("tokens", new Metric(sum(tokens), null));
        metrics.put("window", new Metric(window, null));
        metrics.put("stride", new Metric(stride, null));
        return new Scored(metrics, samples);
    }

    /** exp(-sum ll / sum units), or -sum ll / sum units / ln 2 (bits per unit). */
    private static Metric ratioMetric(double[] ll, double[] units, boolean bits, Options o) {
        java.util.function.ToDoubleFunction<int[]> stat = idx -> {
            double l = 0, u = 0;
            for (int i : idx) {
                l += ll[i];
                u += units[i];
            }
            return bits ? -l / u / Math.log(2) : Math.exp(-l / u);
        };
        int[] all = new int[ll.length];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return Metric.of(stat.applyAsDouble(all), Bootstrap.stderr(ll.length, o.bootstrapIters(), o.seed(), stat));
    }

    /** Words as lm-evaluation-harness counts them: the pieces of re.split(r"\s+", text). */
    static int words(String text) {
        return text.split("(?U)\\s+", -1).length;
    }

    private static double mean(double[] v) {
        return sum(v) / v.length;
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s;
    }
}
