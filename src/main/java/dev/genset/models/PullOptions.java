package dev.genset.models;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How to pull a model. Immutable; the {@code with...} methods return changed copies.
 *
 * @param name         store name to give the model (null: from the file name)
 * @param sha256       expected SHA-256 (null: trust the server's, if it states one)
 * @param progress     receives download progress
 * @param retries      attempts after a failure that made no progress before giving up
 * @param backoff      wait before the first retry; doubles each time, at most 30 seconds
 * @param idleTimeout  a connection that delivers nothing for this long is dropped and retried
 * @param env          environment variables read: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN
 */
public record PullOptions(String name, String sha256, Progress progress, int retries, Duration backoff,
                          Duration idleTimeout, Map<String, String> env) {
    public PullOptions {
        Objects.requireNonNull(progress);
        Objects.requireNonNull(backoff);
        Objects.requireNonNull(idleTimeout);
        Objects.requireNonNull(env);
        if (retries < 0) throw new IllegalArgumentException("retries must be at least 0");
        if (sha256 != null) {
            String hex = Digests.normalizeSha256(sha256);
            if (hex == null) throw new IllegalArgumentException("--sha256 must be 64 hex digits, not '" + sha256 + "'");
            sha256 = hex;
        }
    }

    public static PullOptions defaults() {
        return new PullOptions(null, null, Progress.NONE, 5, Duration.ofSeconds(1), Duration.ofSeconds(60), System.getenv());
    }

    public PullOptions withName(String n) { return new PullOptions(n, sha256, progress, retries, backoff, idleTimeout, env); }
    public PullOptions withSha256(String s) { return new PullOptions(name, s, progress, retries, backoff, idleTimeout, env); }
    public PullOptions withProgress(Progress p) { return new PullOptions(name, sha256, p, retries, backoff, idleTimeout, env); }
    public PullOptions withRetries(int r, Duration b) { return new PullOptions(name, sha256, progress, r, b, idleTimeout, env); }
    public PullOptions withIdleTimeout(Duration t) { return new PullOptions(name, sha256, progress, retries, backoff, t, env); }
    public PullOptions withEnv(Map<String, String> e) { return new PullOptions(name, sha256, progress, retries, backoff, idleTimeout, e); }
}
