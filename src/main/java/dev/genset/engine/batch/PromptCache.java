package dev.genset.engine.batch;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.tensor.UninitializedMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Computed prompts kept after their slot has moved on to another one, so a later prompt that
 * starts the same way (the next turn of a conversation, a system prompt no slot holds any more)
 * copies their keys and values instead of computing them again. What llama.cpp's server keeps in
 * host memory with {@code --cache-ram}, and vLLM in the blocks it has not reused yet.
 *
 * <p>Prompts that share a beginning share its keys and values, as vLLM's and SGLang's prefix caches
 * share blocks: an entry whose first tokens another entry of its scope holds keeps only what
 * follows them, and names that entry its parent (a tree of prompts, each edge a copy of its own
 * positions). Many conversations behind one long system prompt then take the prompt's memory once.
 * A prompt that extends an entry with no children of its own replaces it (the next turn of a
 * conversation), so chains do not grow turn by turn.
 *
 * <p>Bounded by bytes, its own and those it shares with other schedulers' caches
 * ({@link PromptCacheBudget}, which also has an idle cache give its older prompts back to a busy
 * one); the least recently used entries go first, and only entries no other needs
 * (using an entry uses its parents too). The keys and values live outside the Java heap, each
 * entry in memory of its own, freed when it is dropped: gigabytes of them on the heap would be
 * copied about by every full collection, stopping the scheduler for as long. Entries are kept per
 * cache scope and found only within it. Used by the scheduler thread alone, which owns their
 * memory; {@link #clear} frees it all.
 */
final class PromptCache {

    /** Prompts shorter than this are not worth an entry, nor a shared beginning worth sharing (the scheduler copies 16 tokens or more). */
    static final int MIN_TOKENS = 16;

    /** A kept prompt: its tokens, and the keys and values of positions [start, tokens.length) ({@link KvCache#save}'s layout); those before start are its parent's. */
    static final class Entry {
        final int[] tokens;
        final String scope;
        final Entry parent;
        final int start;
        final long bytes;
        private final Arena arena;
        private final MemorySegment kv;
        long lastUsed;
        int children;

        Entry(int[] tokens, String scope, Entry parent, int start, Arena arena, MemorySegment kv) {
            this.tokens = tokens;
            this.scope = scope;
            this.parent = parent;
            this.start = start;
            this.arena = arena;
            this.kv = kv;
            this.bytes = kv.byteSize();
        }

        /** Fills {@code into}'s positions from its length up to {@code end} from this entry and its parents. */
        void restore(KvCache into, int end) {
            if (parent != null && into.length() < start) parent.restore(into, Math.min(end, start));
            if (into.length() < end) into.restore(kv, start, tokens.length, end);
        }
    }

    /** An entry and how many of a prompt's first tokens it holds. */
    record Match(Entry entry, int common) {}

    private final long budget;
    private final PromptCacheBudget shared;
    private final List<Entry> entries = new ArrayList<>();
    private long used;
    // another cache's request for room (set from its thread, served on this one's): bytes, and the use before which prompts may go
    private final java.util.concurrent.atomic.AtomicLong roomAsked = new java.util.concurrent.atomic.AtomicLong();
    private volatile long roomBefore;

    /** @param budget bytes the kept keys and values may take together; 0 keeps nothing */
    PromptCache(long budget) {
        this(budget, new PromptCacheBudget(budget));
    }

    /** @param shared bytes this cache and others take together, besides this cache's own {@code budget} */
    PromptCache(long budget, PromptCacheBudget shared) {
        if (budget < 0) throw new IllegalArgumentException("the prompt cache's size must be >= 0");
        this.budget = budget;
        this.shared = shared;
        if (budget > 0) shared.join(this);
    }

    /**
     * Keeps the first {@code length} tokens of a sequence (and their keys and values from
     * {@code from}) unless an entry of the scope already holds them. The entry of the scope that
     * shares the longest beginning with them, 16 tokens or more, becomes the new entry's parent, or
     * is replaced when the new entry holds all of it and nothing else needs it. Returns whether a
     * new entry was made.
     */
    boolean save(int[] tokens, int length, String scope, KvCache from) {
        if (length < MIN_TOKENS || length > from.length() || budget == 0) return false;
        Entry parent = null;
        int held = 0;
        for (Entry e : entries) {
            if (!Objects.equals(e.scope, scope)) continue;
            int common = Scheduler.commonPrefix(e.tokens, e.tokens.length, tokens, length);
            if (common == length) {  // already held, by this entry or a longer one
                touch(e);
                return false;
            }
            if (common > held) {
                parent = e;
                held = common;
            }
        }
        if (held < MIN_TOKENS) parent = null;
        if (parent != null && held == parent.tokens.length && parent.children == 0) { // it extends a leaf: take its place
            Entry replaced = parent;
            parent = replaced.parent;
            held = parent == null ? 0 : replaced.start;
            remove(replaced);
        }
        int begin = parent == null ? 0 : held;
        long bytes = from.savedBytes(begin, length);
        if (bytes > budget || bytes > shared.limit()) return false;
        while (used + bytes > budget) if (!evictLeastRecentlyUsed(parent)) return false;
        if (!shared.take(bytes)) { // the shared budget is spent: what others used before our oldest goes there, ours here
            Entry oldest = oldestEvictable(parent);
            shared.askForRoom(this, bytes, oldest == null ? shared.tick() : oldest.lastUsed);
            while (!shared.take(bytes)) if (!evictLeastRecentlyUsed(parent)) return false; // the others hold the rest (for now)
        }
        Arena arena = Arena.ofConfined();
        MemorySegment kv;
        try {
            kv = UninitializedMemory.allocate(arena, bytes);
            from.save(kv, begin, length);
        } catch (OutOfMemoryError noMemory) {
            arena.close();
            shared.give(bytes);
            return false;  // a cache: better to keep nothing than to take memory others need
        } catch (RuntimeException e) {
            arena.close();
            shared.give(bytes);
            throw e;
        }
        Entry e = new Entry(java.util.Arrays.copyOf(tokens, length), scope, parent, begin, arena, kv);
        if (parent != null) parent.children++;
        entries.add(e);
        used += bytes;
        touch(e);
        return true;
    }

    /** The entry of the scope holding the longest prefix of {@code prompt}, or null for none. */
    Match longest(int[] prompt, String scope) {
        Entry best = null;
        int bestCommon = 0;
        for (Entry e : entries) {
            if (!Objects.equals(e.scope, scope)) continue;
            int common = Scheduler.commonPrefix(e.tokens, e.tokens.length, prompt, prompt.length);
            if (common <= bestCommon) continue;
            best = e;
            bestCommon = common;
        }
        return best == null ? null : new Match(best, bestCommon);
    }

    /** Marks an entry, and the entries it builds on, as just used (they go last in the eviction order). */
    void touch(Entry e) {
        long now = shared.tick();
        for (Entry x = e; x != null; x = x.parent) x.lastUsed = now;
    }

    int entries() {
        return entries.size();
    }

    long bytes() {
        return used;
    }

    /** Positions whose keys and values are kept (a shared beginning counted once). */
    long tokens() {
        long n = 0;
        for (Entry e : entries) n += e.tokens.length - e.start;
        return n;
    }

    /** Frees every entry (the scheduler stopping). */
    void clear() {
        for (Entry e : entries) e.arena.close();
        entries.clear();
        shared.give(used);
        used = 0;
        shared.leave(this);
    }

    /** Another cache sharing the budget asks for room: up to {@code bytes} of prompts used before {@code before} (served by {@link #makeRoom}). */
    void requestRoom(long bytes, long before) {
        roomBefore = Math.max(roomBefore, before);
        roomAsked.accumulateAndGet(bytes, Math::max);
    }

    /**
     * Serves what another cache asked for ({@link #requestRoom}) on this cache's thread: drops its
     * least recently used prompts (those nothing builds on) while they were used before the asker's
     * oldest, up to the bytes asked. Returns whether anything was dropped.
     */
    boolean makeRoom() {
        if (roomAsked.get() == 0) return false; // the scheduler asks every turn: a read, not a write, when nobody asked
        long asked = roomAsked.getAndSet(0);
        if (asked == 0) return false;
        long before = roomBefore, freed = 0;
        while (freed < asked) {
            Entry oldest = oldestEvictable(null);
            if (oldest == null || oldest.lastUsed >= before) break;
            freed += oldest.bytes;
            remove(oldest);
        }
        return freed > 0;
    }

    /** The least recently used entry that no other builds on, other than {@code keep}; null if there is none. */
    private Entry oldestEvictable(Entry keep) {
        Entry oldest = null;
        for (Entry e : entries) if (e.children == 0 && e != keep && (oldest == null || e.lastUsed < oldest.lastUsed)) oldest = e;
        return oldest;
    }

    /** Drops the least recently used entry that no other builds on, other than {@code keep}; false if there is none. */
    private boolean evictLeastRecentlyUsed(Entry keep) {
        Entry oldest = oldestEvictable(keep);
        if (oldest == null) return false;
        remove(oldest);
        return true;
    }

    private void remove(Entry e) {
        entries.remove(e);
        used -= e.bytes;
        shared.give(e.bytes);
        if (e.parent != null) e.parent.children--;
        e.arena.close();
    }
}
