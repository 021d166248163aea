package dev.genset.engine.batch;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.tensor.UninitializedMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * Computed prompts kept after their slot has moved on to another one, so a later prompt that
 * starts the same way (the next turn of a conversation, a system prompt no slot holds any more)
 * copies their keys and values instead of computing them again. What llama.cpp's server keeps in
 * host memory with {@code --cache-ram}, and vLLM in the blocks it has not reused yet.
 *
 * <p>Bounded by bytes; the least recently used entries go first. The keys and values live outside
 * the Java heap, each entry in memory of its own, freed when it is dropped: gigabytes of them on
 * the heap would be copied about by every full collection, stopping the scheduler for as long.
 * Entries are kept per cache scope and found only within it. Used by the scheduler thread alone,
 * which owns their memory; {@link #clear} frees it all.
 */
final class PromptCache {

    /** Prompts shorter than this are not worth an entry (the scheduler copies 16 tokens or more). */
    static final int MIN_TOKENS = 16;

    /** A kept prompt: its tokens and their keys and values ({@link KvCache#save}'s layout). */
    static final class Entry {
        final int[] tokens;
        final String scope;
        final long bytes;
        private final Arena arena;
        private final MemorySegment kv;
        long lastUsed;

        Entry(int[] tokens, String scope, Arena arena, MemorySegment kv) {
            this.tokens = tokens;
            this.scope = scope;
            this.arena = arena;
            this.kv = kv;
            this.bytes = kv.byteSize();
        }

        /** Fills {@code into}'s positions from its length up to {@code end} from this entry. */
        void restore(KvCache into, int end) {
            into.restore(kv, tokens.length, end);
        }
    }

    /** An entry and how many of a prompt's first tokens it holds. */
    record Match(Entry entry, int common) {}

    private final long budget;
    private final List<Entry> entries = new ArrayList<>();
    private long used, clock;

    /** @param budget bytes the kept keys and values may take together; 0 keeps nothing */
    PromptCache(long budget) {
        if (budget < 0) throw new IllegalArgumentException("the prompt cache's size must be >= 0");
        this.budget = budget;
    }

    /**
     * Keeps the first {@code length} tokens of a sequence (and their keys and values from
     * {@code from}) unless an entry of the scope already holds them; entries they extend are
     * replaced. Returns whether a new entry was made.
     */
    boolean save(int[] tokens, int length, String scope, KvCache from) {
        long bytes = from.savedBytes(length);
        if (length < MIN_TOKENS || bytes > budget || length > from.length()) return false;
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!Objects.equals(e.scope, scope)) continue;
            int common = Scheduler.commonPrefix(e.tokens, e.tokens.length, tokens, length);
            if (common == length) {  // already held, by this entry or a longer one
                e.lastUsed = ++clock;
                return false;
            }
            if (common == e.tokens.length) remove(it, e);  // the new entry holds all of it
        }
        while (used + bytes > budget) evictLeastRecentlyUsed();
        Arena arena = Arena.ofConfined();
        MemorySegment kv;
        try {
            kv = UninitializedMemory.allocate(arena, bytes);
            from.save(kv, length);
        } catch (OutOfMemoryError noMemory) {
            arena.close();
            return false;  // a cache: better to keep nothing than to take memory others need
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        Entry e = new Entry(java.util.Arrays.copyOf(tokens, length), scope, arena, kv);
        e.lastUsed = ++clock;
        entries.add(e);
        used += bytes;
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

    /** Marks an entry as just used (it goes last in the eviction order). */
    void touch(Entry e) {
        e.lastUsed = ++clock;
    }

    int entries() {
        return entries.size();
    }

    long bytes() {
        return used;
    }

    long tokens() {
        long n = 0;
        for (Entry e : entries) n += e.tokens.length;
        return n;
    }

    /** Frees every entry (the scheduler stopping). */
    void clear() {
        for (Entry e : entries) e.arena.close();
        entries.clear();
        used = 0;
    }

    private void evictLeastRecentlyUsed() {
        Entry oldest = null;
        for (Entry e : entries) if (oldest == null || e.lastUsed < oldest.lastUsed) oldest = e;
        entries.remove(oldest);
        used -= oldest.bytes;
        oldest.arena.close();
    }

    private void remove(Iterator<Entry> it, Entry e) {
        it.remove();
        used -= e.bytes;
        e.arena.close();
    }
}
