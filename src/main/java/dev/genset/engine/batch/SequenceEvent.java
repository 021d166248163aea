package dev.genset.engine.batch;

import dev.genset.engine.generate.FinishReason;

import java.util.List;

/** What a running sequence reports to its caller, in order: text as it is produced, then one end. */
public sealed interface SequenceEvent {

    /** The prompt was evaluated; its tokens carry log-probabilities if the request asked for them. */
    record PromptDone(List<TokenInfo> promptTokens, int cachedTokens) implements SequenceEvent {}

    /**
     * New text (complete UTF-8 characters, never part of a stop string; possibly empty) and how
     * many tokens were sampled since the last such event; {@code logprobs} has those tokens with
     * their log-probabilities if the request asked for them, else it is empty.
     */
    record Text(String text, int tokens, List<TokenInfo> logprobs) implements SequenceEvent {}

    /**
     * The sequence ended.
     *
     * @param text             the whole generated text (cut before a stop string)
     * @param completionTokens tokens generated (an end-of-generation token is not counted)
     * @param timedOut         the sequence was cancelled because it ran past its timeout
     * @param stopWord         the stop string that ended it, or null (an end-of-generation token, a limit)
     */
    record Done(FinishReason reason, String text, int promptTokens, int cachedTokens, int completionTokens,
                long promptNanos, long generationNanos, boolean timedOut, String stopWord) implements SequenceEvent {
        public Done(FinishReason reason, String text, int promptTokens, int cachedTokens, int completionTokens,
                    long promptNanos, long generationNanos, boolean timedOut) {
            this(reason, text, promptTokens, cachedTokens, completionTokens, promptNanos, generationNanos, timedOut, null);
        }
    }

    /** The sequence failed; no more events follow. */
    record Failed(Throwable error) implements SequenceEvent {}

    default boolean isTerminal() {
        return this instanceof Done || this instanceof Failed;
    }
}
