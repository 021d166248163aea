package dev.genset.eval.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.genset.eval.TaskResult;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One {@code genset eval run}: a model, the tasks it ran and their results.
 *
 * @param id      unique id (time-ordered)
 * @param created when the run finished, ISO-8601 UTC
 * @param model   the model's name
 * @param source  what the model was (a GGUF file name or an endpoint URL)
 * @param options the run's settings (limit, num_fewshot, bootstrap iterations, seed)
 * @param tasks   one result per task
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunResult(String id, String created, String model, String source, Map<String, Object> options, List<TaskResult> tasks) {
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC);

    public static RunResult of(String model, String source, Map<String, Object> options, List<TaskResult> tasks) {
        Instant now = Instant.now();
        String id = ID_TIME.format(now) + "-" + UUID.randomUUID().toString().substring(0, 8);
        return new RunResult(id, now.toString(), model, source, options, tasks);
    }

    /** The figure a task is ranked by: acc, the first exact_match, or token perplexity. */
    public static String primaryMetric(TaskResult t) {
        return switch (t.type()) {
            case "multiple_choice" -> "acc";
            case "perplexity" -> "token_perplexity";
            default -> t.metrics().keySet().stream().filter(k -> k.startsWith("exact_match")).findFirst().orElse(t.metrics().keySet().iterator().next());
        };
    }

    /** Whether larger values of the metric are better. */
    public static boolean higherIsBetter(String metric) {
        return !metric.contains("perplexity") && !metric.equals("bits_per_byte");
    }
}
