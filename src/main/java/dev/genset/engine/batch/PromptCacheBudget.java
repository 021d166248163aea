package dev.genset.engine.batch;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes that the prompt caches of several schedulers may take together: a server's models share
 * one {@code --cache-ram}, so loading more models does not multiply it. Each cache takes bytes as
 * it keeps a prompt and gives them back as it drops one; when the budget is spent, a cache drops
 * its own least recently used prompts to make room (no cache touches another's, each belonging to
 * its scheduler's thread). Thread-safe.
 */
public final class PromptCacheBudget {
    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public PromptCacheBudget(long limit) {
        if (limit < 0) throw new IllegalArgumentException("the prompt cache's size must be >= 0");
        this.limit = limit;
    }

    public long limit() {
        return limit;
    }

    /** Bytes the caches sharing this budget hold now. */
    public long used() {
        return used.get();
    }

    /** Takes {@code bytes} if they fit beside what is taken; false (taking nothing) if not. */
    boolean take(long bytes) {
        while (true) {
            long now = used.get();
            if (now + bytes > limit) return false;
            if (used.compareAndSet(now, now + bytes)) return true;
        }
    }

    void give(long bytes) {
        used.addAndGet(-bytes);
    }
}
