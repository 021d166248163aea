package dev.genset.eval.model;

/**
 * The log-likelihood of a continuation.
 *
 * @param logprob natural-log probability of the continuation's tokens, summed
 * @param greedy  whether every continuation token was the model's most likely next token
 * @param tokens  how many tokens the continuation was scored as
 */
public record LoglikelihoodResult(double logprob, boolean greedy, int tokens) {}
