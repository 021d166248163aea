package dev.genset.eval;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;
import java.util.Map;

/**
 * The outcome of one task on one model.
 *
 * @param task       task name
 * @param type       multiple_choice, generate_until or perplexity
 * @param model      model name
 * @param numFewshot few-shot examples per prompt
 * @param documents  documents evaluated
 * @param metrics    metric name to value and standard error, in a stable order
 * @param seconds    wall-clock time
 * @param samples    per-document details (prompt, answer, score), when asked for
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TaskResult(String task, String type, String model, int numFewshot, int documents,
                         Map<String, Metric> metrics, double seconds, List<Map<String, Object>> samples) {
    public TaskResult withoutSamples() {
        return new TaskResult(task, type, model, numFewshot, documents, metrics, seconds, null);
    }
}
