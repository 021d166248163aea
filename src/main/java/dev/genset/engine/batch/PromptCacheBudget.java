package dev.genset.engine.batch;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes that the prompt caches of several schedulers may take together: a server's models share
 * one {@code --cache-ram}, so loading more models does not multiply it. Each cache takes bytes as
 * it keeps a prompt and gives them back as it drops one; when the budget is spent, a cache drops
 * its own least recently used prompts to make room, and asks the others to drop theirs that were
 * used before its own oldest ({@link #askForRoom}): each does so on its own scheduler's thread, which
 * alone touches its prompts, within that scheduler's next turn. So a model left idle gives its
 * share back to the one in use, as one least-recently-used order over all of them would. Their
 * uses are counted on one clock ({@link #tick}) so that they compare. Thread-safe.
 */
public final class PromptCacheBudget {
    private final long limit;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong clock = new AtomicLong();
    private final List<PromptCache> members = new CopyOnWriteArrayList<>();

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

    /** The next moment on the clock the caches sharing this budget mark their prompts' uses with. */
    long tick() {
        return clock.incrementAndGet();
    }

    void join(PromptCache c) {
        members.add(c);
    }

    void leave(PromptCache c) {
        members.remove(c);
    }

    /** Asks every cache but {@code asker} to drop up to {@code bytes} of its prompts last used before {@code before}. */
    void askForRoom(PromptCache asker, long bytes, long before) {
        for (PromptCache c : members) if (c != asker) c.requestRoom(bytes, before);
    }
}
