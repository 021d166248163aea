package dev.genset.engine.batch;

import dev.genset.engine.sampling.TokenLogprob;

import java.util.List;

/**
 * A token of a prompt or a completion with what the caller asked to know about it.
 *
 * @param token   the token id
 * @param bytes   its bytes (empty for control tokens)
 * @param logprob its log-probability under the model, or NaN where there is none (the first prompt token)
 * @param top     the most likely tokens at its position, best first (empty unless asked for)
 */
public record TokenInfo(int token, byte[] bytes, float logprob, List<TokenLogprob> top) {}
