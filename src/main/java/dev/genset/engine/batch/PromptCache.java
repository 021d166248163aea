package dev.genset.engine.batch;

import dev.genset.engine.model.KvCache;

import java.lang.ref.SoftReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Computed prompts kept after their slot has moved on to another one, so a later prompt that
 * starts the same way (the next turn of a conversation, a system prompt no slot holds any more)
 * copies their keys and values instead of computing them again. What llama.cpp's server keeps in
 * host memory with {@code --cache-ram}, and vLLM in the blocks it has not reused yet.
 *
 * <p>Bounded by bytes; the least recently used entries go first. Each entry's keys and values are
 * held softly: under heap pressure the collector drops them rather than let another allocation
 * fail, and a dropped entry is forgotten when next looked at. Entries are kept per cache scope and
 * found only within it. Used by the scheduler thread alone.
 */
final class PromptCache {

    /** Prompts shorter than this are not worth an entry (the scheduler copies 16 tokens or more). */
    static final int MIN_TOKENS = 16;

    /** A kept prompt: its tokens and, while the heap allows, their keys and values. */
    static final class Entry {
        final int[] tokens;
        final String scope;
        final long bytes;
        private final SoftReference<KvCache> kv;
        long lastUsed;

        Entry(int[] tokens, String scope, long bytes, KvCache kv) {
            this.tokens = tokens;
            this.scope = scope;
            this.bytes = bytes;
            this.kv = new SoftReference<>(kv);
        }

        /** The keys and values, or null once the collector has dropped them. */
        KvCache cache() {
            return kv.get();
        }
    }

    /** An entry and how many of a prompt's first tokens it holds. */
    record Match(Entry entry, int common) {}

    private final long budget;
    private final long bytesPerToken;
    private final IntFunction<KvCache> newCache;
    private final List<Entry> entries = new ArrayList<>();
    private long used, clock;

    /**
     * @param budget        bytes the kept keys and values may take together; 0 keeps nothing
     * @param bytesPerToken bytes one position's keys and values take (all layers)
     * @param newCache      makes an empty KV cache of the given number of positions
     */
    PromptCache(long budget, long bytesPerToken, IntFunction<KvCache> newCache) {
        if (budget < 0) throw new IllegalArgumentException("the prompt cache's size must be >= 0");
        this.budget = budget;
        this.bytesPerToken = bytesPerToken;
        this.newCache = newCache;
    }

    /**
     * Keeps the first {@code length} tokens of a sequence (and their keys and values from
     * {@code from}) unless an entry of the scope already holds them; entries they extend are
     * replaced. Returns whether a new entry was made.
     */
    boolean save(int[] tokens, int length, String scope, KvCache from) {
        long bytes = length * bytesPerToken;
        if (length < MIN_TOKENS || bytes > budget || length > from.length()) return false;
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!Objects.equals(e.scope, scope)) continue;
            if (e.cache() == null) {
                remove(it, e);
                continue;
            }
            int common = commonPrefix(e.tokens, e.tokens.length, tokens, length);
            if (common == length) {  // already held, by this entry or a longer one
                e.lastUsed = ++clock;
                return false;
            }
            if (common == e.tokens.length) remove(it, e);  // the new entry holds all of it
        }
        while (used + bytes > budget) evictLeastRecentlyUsed();
        KvCache kv;
        try {
            kv = newCache.apply(length);
        } catch (OutOfMemoryError heapFull) {
            return false;  // a cache: better to keep nothing than to take the heap others need
        }
        kv.copyFrom(from, length);
        Entry e = new Entry(java.util.Arrays.copyOf(tokens, length), scope, bytes, kv);
        e.lastUsed = ++clock;
        entries.add(e);
        used += bytes;
        return true;
    }

    /** The entry of the scope holding the longest prefix of {@code prompt}, or null for none. */
    Match longest(int[] prompt, String scope) {
        Entry best = null;
        int bestCommon = 0;
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!Objects.equals(e.scope, scope)) continue;
            int common = commonPrefix(e.tokens, e.tokens.length, prompt, prompt.length);
            if (common <= bestCommon) continue;
            if (e.cache() == null) {
                remove(it, e);
                continue;
            }
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

    private void evictLeastRecentlyUsed() {
        Entry oldest = null;
        for (Entry e : entries) if (oldest == null || e.lastUsed < oldest.lastUsed) oldest = e;
        entries.remove(oldest);
        used -= oldest.bytes;
    }

    private void remove(Iterator<Entry> it, Entry e) {
        it.remove();
        used -= e.bytes;
    }

    private static int commonPrefix(int[] a, int aLength, int[] b, int bLength) {
        int n = Math.min(aLength, bLength), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
