package dev.genset.eval.task;

import java.util.Locale;

/** What a task asks of the model. */
public enum TaskType {
    /** Log-likelihood of each choice after the prompt; the most likely one is the answer. */
    MULTIPLE_CHOICE("multiple_choice"),
    /** Greedy generation until a stop string; the extracted answer is compared with the target. */
    GENERATE_UNTIL("generate_until"),
    /** Log-likelihood of whole texts: token-, word- and byte-level perplexity. */
    PERPLEXITY("perplexity");

    private final String id;

    TaskType(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static TaskType parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "multiple_choice" -> MULTIPLE_CHOICE;
            case "generate_until", "generate", "generation" -> GENERATE_UNTIL;
            case "perplexity", "loglikelihood_rolling", "rolling" -> PERPLEXITY;
            default -> throw new IllegalArgumentException("unknown task type '" + s + "' (multiple_choice, generate_until or perplexity)");
        };
    }
}
