package dev.genset.gateway.ratelimit;

import java.util.List;

/**
 * Token buckets that refill continuously: a bucket of capacity C per minute holds at most C and
 * gains C every 60 seconds. {@link #acquire} takes from several buckets at once, all or nothing
 * (a key's and its team's requests and tokens per minute); {@link #refund} gives back what a
 * request reserved and did not use.
 */
public interface RateLimiter extends AutoCloseable {
    /** One bucket and how much to take from it. */
    record Take(String bucket, long capacityPerMinute, long amount) {}

    /** A bucket's state after the call. */
    record Level(String bucket, long capacity, long remaining, long msToFull) {}

    /**
     * @param allowed      whether everything was taken
     * @param retryAfterMs when refused: how long until the request could be admitted; -1 if it never can
     *                     (it asks for more than a bucket holds)
     * @param refusedBy    the first bucket that refused, or -1
     * @param levels       each bucket's level, in the order asked
     */
    record Decision(boolean allowed, long retryAfterMs, int refusedBy, List<Level> levels) {}

    Decision acquire(List<Take> takes);

    void refund(List<Take> gives);

    @Override
    default void close() {}
}
