package dev.genset.gateway.route;

import dev.genset.gateway.Usage;

/**
 * What one attempt at one deployment came to.
 *
 * @param status       the HTTP status (0 when no response: timeout or connection failure)
 * @param body         the response body when not streamed (the upstream's error body on failure), else null
 * @param usage        tokens used (from the upstream's usage, else counted)
 * @param retryAfterMs the upstream's Retry-After, or -1
 * @param streamed     whether any bytes went to the client (then the request cannot be retried)
 * @param complete     whether the response ended properly (a stream reached [DONE])
 * @param error        a description of the failure, or null
 * @param streamedText per choice index, the text a stream delivered (null when not streamed), for request capture
 */
public record Outcome(int status, byte[] body, Usage usage, long retryAfterMs, boolean streamed, boolean complete, String error,
                      java.util.List<String> streamedText) {
    public Outcome(int status, byte[] body, Usage usage, long retryAfterMs, boolean streamed, boolean complete, String error) {
        this(status, body, usage, retryAfterMs, streamed, complete, error, null);
    }

    public boolean ok() {
        return status >= 200 && status < 300 && complete;
    }

    /** 429, 5xx, no response at all, or a stream that failed before sending anything. */
    public boolean retryable() {
        return !streamed && (status == 0 || status == 408 || status == 409 || status == 429 || status >= 500
                || (status >= 200 && status < 300 && !complete));
    }

    public static Outcome failed(String error, boolean timeout) {
        return new Outcome(0, null, Usage.NONE, -1, false, false, (timeout ? "timeout: " : "") + error);
    }
}
