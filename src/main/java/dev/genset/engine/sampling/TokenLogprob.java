package dev.genset.engine.sampling;

/** A token id with its natural-log probability, as reported by OpenAI-style logprobs. */
public record TokenLogprob(int token, float logprob) {}
