package dev.genset.eval.model;

/**
 * The log-likelihood of a whole text, every token scored once.
 *
 * @param logprob natural-log probability of the text's tokens, summed
 * @param tokens  how many tokens were scored
 */
public record RollingResult(double logprob, int tokens) {}
