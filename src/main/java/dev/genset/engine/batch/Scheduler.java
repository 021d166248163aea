package dev.genset.engine.batch;

import dev.genset.engine.generate.FinishReason;
import dev.genset.engine.generate.Utf8Accumulator;
import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.sampling.LogProbs;
import dev.genset.engine.sampling.Sampler;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.sampling.TokenLogprob;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Continuous batching over a fixed number of slots, each with its own KV cache.
 *
 * <p>Callers {@link #submit} sequences from any thread; they wait in a bounded queue until a slot
 * is free. One scheduler thread drives the forward pass (which is not thread-safe): every step it
 * admits waiting sequences into free slots, then runs one forward pass whose rows are the next
 * token of every generating sequence followed by prompt chunks of newly admitted ones, and samples
 * from the logits of each. A new sequence takes the free slot whose cached tokens share the
 * longest prefix with its prompt, and only evaluates the rest (multi-turn chat). A prompt also
 * takes what any other slot has already computed of it (a shared system prompt, the same prompt
 * sent by many clients), copied rather than computed again, and waits for an older prompt that is
 * computing the part they share instead of computing it alongside. What a slot held before a
 * new sequence overwrote it goes to the {@link PromptCache} (when configured), from which later
 * prompts copy it in the same way. All such reuse stays among requests of one cache scope
 * ({@link GenerationRequest#cacheScope}).
 *
 * <p>Each row's result depends only on that row's token, position and cache, so a sequence gives
 * the same tokens whatever else shares its batch (as long as the matrix kernels compute each row
 * alone).
 */
public final class Scheduler implements AutoCloseable {

    /**
     * @param slots         sequences decoded together at most
     * @param contextSize   positions in each slot's KV cache
     * @param batchSize     rows in one forward pass at most (raised to {@code slots} if smaller)
     * @param queueCapacity sequences that may wait for a slot; beyond that {@link #submit} refuses
     * @param promptCacheBytes bytes of keys and values kept of prompts whose slot has moved on
     *                      ({@link PromptCache}); 0 keeps none
     * @param keyType       how the slots' KV caches store keys
     * @param valueType     how they store values
     *
     * <p>Every row of a forward pass computes exactly what it would alone (the kernels are
     * batch-invariant), so a sequence's tokens and log-probabilities never depend on its company.
     */
    public record Config(int slots, int contextSize, int batchSize, int queueCapacity, long promptCacheBytes, KvType keyType, KvType valueType) {
        public Config {
            if (keyType == null || valueType == null) throw new IllegalArgumentException("no KV cache type");
            if (slots < 1) throw new IllegalArgumentException("slots must be at least 1");
            if (contextSize < 2) throw new IllegalArgumentException("context size must be at least 2");
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1");
            if (queueCapacity < 0) throw new IllegalArgumentException("queue capacity must be >= 0");
            if (promptCacheBytes < 0) throw new IllegalArgumentException("the prompt cache's size must be >= 0");
        }

        /** KV caches of f32. */
        public Config(int slots, int contextSize, int batchSize, int queueCapacity, long promptCacheBytes) {
            this(slots, contextSize, batchSize, queueCapacity, promptCacheBytes, KvType.F32, KvType.F32);
        }

        /** Without a prompt cache: only what the slots hold is reused. */
        public Config(int slots, int contextSize, int batchSize, int queueCapacity) {
            this(slots, contextSize, batchSize, queueCapacity, 0);
        }
    }

    /**
     * A snapshot of the scheduler's load.
     *
     * @param cachedPrompts     prompts kept in the prompt cache
     * @param cachedPromptBytes bytes their keys and values take
     * @param restoredTokens    prompt tokens copied from the prompt cache so far
     */
    public record Stats(int slots, int busySlots, int queued, long steps, long promptTokens, long generatedTokens,
                        int cachedPrompts, long cachedPromptBytes, long restoredTokens) {}

    private final Model model;
    private final Tokenizer tokenizer;
    private final Config config;
    private final int vocab;
    private final Transformer transformer;
    private final int maxBatch;
    private final Slot[] slots;
    private final PromptCache promptCache;
    private final List<Slot> admitted = new ArrayList<>();  // slots given a sequence in this admission, to start

    // The batch of one forward pass, allocated once.
    private final int[] rowTokens, rowPositions;
    private final KvCache[] rowCaches;
    private final boolean[] rowWant;
    private final float[] logits;
    private final float[] scratch;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition idle = lock.newCondition();
    private final ArrayDeque<Sequence> queue = new ArrayDeque<>();
    private volatile boolean accepting = true;
    private volatile boolean running = true;
    private volatile int busy;
    private final AtomicLong ids = new AtomicLong();
    private long useClock;
    private volatile long steps, promptTokens, generatedTokens, restoredTokens;
    private volatile int cachedPrompts;
    private volatile long cachedPromptBytes;
    private final Thread thread;

    public Scheduler(Model model, Parallel pool, Config config) {
        this(model, pool, config, null);
    }

    /** @param sharedPromptCache bytes its prompt cache takes together with other schedulers' (a server's models), or null for its own */
    public Scheduler(Model model, Parallel pool, Config config, PromptCacheBudget sharedPromptCache) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.config = config;
        this.vocab = model.config().vocabSize();
        this.maxBatch = Math.max(config.slots(), config.batchSize());
        int rows = maxBatch;
        this.transformer = model.newTransformer(pool, rows);
        this.slots = new Slot[config.slots()];
        for (int i = 0; i < slots.length; i++) slots[i] = new Slot(i, model.newCache(config.contextSize(), config.keyType(), config.valueType()));
        this.promptCache = new PromptCache(config.promptCacheBytes(), sharedPromptCache != null ? sharedPromptCache : new PromptCacheBudget(config.promptCacheBytes()));
        rowTokens = new int[rows];
        rowPositions = new int[rows];
        rowCaches = new KvCache[rows];
        rowWant = new boolean[rows];
        logits = new float[rows * vocab];
        scratch = new float[vocab];
        thread = Thread.ofPlatform().name("genset-scheduler-" + model.name()).daemon().unstarted(this::loop);
        thread.start();
    }

    public Model model() {
        return model;
    }

    public Config config() {
        return config;
    }

    public int contextSize() {
        return config.contextSize();
    }

    /**
     * Queues a sequence. Events go to {@code sink} on the scheduler thread, in order, ending with
     * {@link SequenceEvent.Done} or {@link SequenceEvent.Failed}.
     *
     * @throws PromptTooLongException    if the prompt leaves no room in a slot's context
     * @throws IllegalArgumentException  for a token id outside the vocabulary
     * @throws QueueFullException        if the queue is full
     * @throws SchedulerClosedException  if the scheduler is shutting down
     */
    public Sequence submit(GenerationRequest request, Consumer<SequenceEvent> sink) {
        int[] prompt = request.prompt();
        if (prompt.length >= config.contextSize()) throw new PromptTooLongException(prompt.length, config.contextSize());
        for (int t : prompt)
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");
        for (int t : request.logitBias().keySet())
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("logit bias for token id " + t + ", which is outside the vocabulary (0.." + (vocab - 1) + ")");
        lock.lock();
        try {
            if (!accepting) throw new SchedulerClosedException();
            int free = slots.length - busy;
            if (queue.size() >= config.queueCapacity() + Math.max(0, free)) throw new QueueFullException(config.queueCapacity());
            Sequence s = new Sequence(ids.incrementAndGet(), request, sink);
            queue.addLast(s);
            wake.signalAll();
            return s;
        } finally {
            lock.unlock();
        }
    }

    public Stats stats() {
        int q;
        lock.lock();
        try {
            q = queue.size();
        } finally {
            lock.unlock();
        }
        return new Stats(slots.length, busy, q, steps, promptTokens, generatedTokens, cachedPrompts, cachedPromptBytes, restoredTokens);
    }

    public int busySlots() {
        return busy;
    }

    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * One slot as a monitor sees it ({@link #slotStates}): whether it runs a sequence, which, how
     * many positions its cache holds, tokens generated, and tokens left before its limit (-1: none).
     */
    public record SlotState(int id, boolean processing, long sequence, int cachedTokens, int generated, int remaining) {}

    /** Every slot, read while the scheduler runs (a snapshot without stopping it: its numbers may be a step apart). */
    public List<SlotState> slotStates() {
        List<SlotState> out = new ArrayList<>(slots.length);
        for (Slot s : slots) {
            Run run = s.run;
            if (run == null) {
                out.add(new SlotState(s.index, false, -1, s.tokens.size, 0, -1));
                continue;
            }
            int generated = run.generated, max = run.seq.request().maxTokens();
            out.add(new SlotState(s.index, true, run.seq.id(), s.tokens.size, generated, max < 0 ? -1 : Math.max(0, max - generated)));
        }
        return out;
    }

    /** Tokens whose keys and values slot {@code i} holds (for tests and diagnostics; racy while it runs). */
    public int cachedTokens(int slot) {
        return slots[slot].tokens.size;
    }

    /**
     * Stops taking new sequences, lets queued and running ones finish for up to {@code grace},
     * cancels what is left, and stops the scheduler thread.
     */
    public void shutdown(Duration grace) {
        accepting = false;
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            while ((busy > 0 || !queue.isEmpty()) && System.nanoTime() < deadline) {
                idle.await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            running = false;
            wake.signalAll();
        } catch (InterruptedException e) {
            running = false;
            wake.signalAll();
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until no sequence is queued or running, up to {@code timeout}; returns whether it is idle. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (busy > 0 || !queue.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                idle.await(left, TimeUnit.NANOSECONDS);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    // ---- the scheduler thread ------------------------------------------------------------------

    private void loop() {
        try {
            while (running) {
                if (promptCache.makeRoom()) promptCacheChanged(); // another model's cache asked for room
                admit();
                if (busy == 0) {
                    lock.lock();
                    try {
                        if (queue.isEmpty()) {
                            idle.signalAll();
                            if (running) wake.await(100, TimeUnit.MILLISECONDS);
                        }
                    } finally {
                        lock.unlock();
                    }
                    continue;
                }
                expire();
                if (busy == 0) continue;
                // Lets whatever waits for a core run now, between steps: the threads that stream the
                // last step's tokens to their clients. Otherwise they take a core from the next step's
                // pass in its middle, and the pool's other thread waits for it at the next product's
                // end. On two cores, the Q4_0 file: one client 1.08x the tokens a second and 4.5 ms
                // off the first token, sixteen level; the Q8_0 file level (BENCHMARKS.md, round 44).
                Thread.yield();
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            promptCache.clear();  // its memory is this thread's
            promptCacheChanged();
            // Whatever is left ends now.
            for (Slot s : slots) if (s.run != null) finish(s, FinishReason.CANCELLED, false);
            lock.lock();
            try {
                for (Sequence q : queue) q.emit(new SequenceEvent.Failed(new SchedulerClosedException()));
                queue.clear();
                idle.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Moves waiting sequences into free slots; drops those cancelled or expired while waiting. */
    private void admit() {
        long now = System.nanoTime();
        lock.lock();
        try {
            for (Iterator<Sequence> it = queue.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (s.isCancelled() || s.expired(now)) {
                    it.remove();
                    int n = s.request().prompt().length;
                    s.emit(new SequenceEvent.Done(FinishReason.CANCELLED, "", n, 0, 0, 0, 0, !s.isCancelled()));
                }
            }
            while (!queue.isEmpty() && busy < slots.length) {
                Sequence s = queue.pollFirst();
                Slot slot = pickSlot(s.request());
                slot.admitted = s;
                busy++;
                admitted.add(slot);
            }
            if (busy == 0 && queue.isEmpty()) idle.signalAll();
        } finally {
            lock.unlock();
        }
        // started outside the lock: keeping what a slot held in the prompt cache copies its keys and
        // values, which submitters and the metrics need not wait for
        for (Slot slot : admitted) {
            Sequence seq = slot.admitted;
            slot.admitted = null;
            try {
                start(slot, seq, now);
            } catch (RuntimeException e) {  // that sequence fails, not the scheduler
                slot.cache.truncate(0);
                slot.tokens.size = 0;
                seq.emit(new SequenceEvent.Failed(e));
                release(slot);
            }
        }
        admitted.clear();
    }

    /** The free slot sharing the longest prefix with the prompt; ties go to the least recently used. */
    private Slot pickSlot(GenerationRequest r) {
        Slot best = null;
        int bestCommon = -1;
        for (Slot s : slots) {
            if (s.run != null || s.admitted != null) continue;
            int common = reusablePrefix(s, r);
            if (common > bestCommon || common == bestCommon && s.lastUsed < best.lastUsed) {
                best = s;
                bestCommon = common;
            }
        }
        // A prefix covering at most half the prompt (say, only a BOS token or a system prompt) is not
        // worth evicting another conversation for: take the least recently used slot instead.
        if (2L * bestCommon <= r.prompt().length) {
            for (Slot s : slots) if (s.run == null && s.admitted == null && s.lastUsed < best.lastUsed) best = s;
        }
        return best;
    }

    private void start(Slot slot, Sequence seq, long now) {
        GenerationRequest r = seq.request();
        int[] prompt = r.prompt();
        int common = Math.min(reusablePrefix(slot, r), prompt.length - 1); // the last token is always evaluated, for its logits
        if (common < slot.cache.length()) keepInPromptCache(slot);
        slot.cache.truncate(Math.min(common, slot.cache.length()));
        slot.tokens.size = slot.cache.length();
        slot.scope = r.cacheScope();
        Run run = new Run(seq, common, now);
        for (int t : prompt) run.sampler.accept(t);
        if (r.promptLogprobs()) run.promptInfo.add(new TokenInfo(prompt[0], tokenizer.tokenBytes(prompt[0]), Float.NaN, List.of()));
        slot.run = run;
    }

    /**
     * Saves what slot s holds to the prompt cache before a new sequence overwrites it, unless
     * another slot of its scope holds all of it too (that one is saved when its turn comes).
     * Failing to keep it costs a later prompt time, never a sequence.
     */
    private void keepInPromptCache(Slot s) {
        int length = s.cache.length();
        if (length < PromptCache.MIN_TOKENS || config.promptCacheBytes() == 0) return;
        for (Slot o : slots)
            if (o != s && Objects.equals(o.scope, s.scope) && commonPrefix(o.tokens.a, o.tokens.size, s.tokens.a, length) == length) return;
        try {
            promptCache.save(s.tokens.a, length, s.scope, s.cache);
        } catch (RuntimeException e) {
            System.getLogger("genset.scheduler").log(System.Logger.Level.WARNING, "could not keep a prompt in the prompt cache: " + e);
        }
        promptCacheChanged();
    }

    private void promptCacheChanged() {
        cachedPrompts = promptCache.entries();
        cachedPromptBytes = promptCache.bytes();
    }

    private void expire() {
        long now = System.nanoTime();
        for (Slot s : slots) {
            Run run = s.run;
            if (run == null) continue;
            if (run.seq.isCancelled()) finish(s, FinishReason.CANCELLED, false);
            else if (run.seq.expired(now)) finish(s, FinishReason.CANCELLED, true);
        }
    }

    /** One forward pass over every active sequence, then sampling. */
    private void step() {
        int n = 0, m = 0;
        List<Slot> inBatch = new ArrayList<>(slots.length);
        // Generating sequences first: one row each.
        for (Slot s : slots) {
            Run run = s.run;
            if (run == null || !run.generating) continue;
            rowTokens[n] = run.pending;
            rowPositions[n] = run.position;
            rowCaches[n] = s.cache;
            rowWant[n] = true;
            run.rowCount = 1;
            run.logitRow = m++;
            n++;
            inBatch.add(s);
        }
        // Then prompt chunks, oldest sequence first, as far as the batch has room; each prompt
        // first takes what other slots have computed of it, or waits for an older one computing it.
        Slot[] prompting = Arrays.stream(slots).filter(s -> s.run != null && !s.run.generating)
                .sorted((a, b) -> Long.compare(a.run.seq.id(), b.run.seq.id())).toArray(Slot[]::new);
        for (Slot s : prompting) {
            try {
                copySharedPrefix(s);
            } catch (RuntimeException e) {
                fail(s, e);  // that sequence, not the scheduler
            }
        }
        for (Slot s : prompting) {
            if (n == maxBatch) break;
            if (s.run == null || waitsForSharedPrefix(s, prompting)) continue;
            Run run = s.run;
            int[] prompt = run.seq.request().prompt();
            int k = Math.min(maxBatch - n, prompt.length - run.promptPos);
            run.rowCount = k;
            run.logitRow = m;
            for (int i = 0; i < k; i++) {
                int p = run.promptPos + i;
                rowTokens[n] = prompt[p];
                rowPositions[n] = p;
                rowCaches[n] = s.cache;
                rowWant[n] = run.seq.request().promptLogprobs() || p == prompt.length - 1;
                if (rowWant[n]) m++;
                n++;
            }
            inBatch.add(s);
        }
        try {
            transformer.forward(n, rowTokens, rowPositions, rowCaches, rowWant, logits);
        } catch (RuntimeException | Error e) {
            for (Slot s : inBatch) fail(s, e);
            return;
        }
        steps++;
        for (Slot s : inBatch) {
            Run run = s.run;
            try {
                if (run.generating) {
                    s.tokens.add(run.pending);
                    onLogits(s, run.logitRow * vocab);
                } else {
                    advancePrompt(s, run);
                }
            } catch (RuntimeException e) {
                fail(s, e);
            }
        }
    }

    /**
     * Whether a prompt of {@code length} tokens sharing its first {@code common} with another is
     * worth taking from it: a prefix of 16 tokens or more, or more than half the prompt (not a
     * bare BOS token in front of a different text).
     */
    private static boolean worthSharing(int common, int length) {
        return common >= 16 || 2 * common > length;
    }

    /**
     * The prefix of r's prompt that slot s holds and r may reuse: none for a prompt that wants
     * logprobs of its own tokens (every position's logits), none across cache scopes (one
     * tenant's prompts are not to be found, nor timed, through another's cached tokens).
     */
    private static int reusablePrefix(Slot s, GenerationRequest r) {
        return r.promptLogprobs() || !Objects.equals(s.scope, r.cacheScope()) ? 0 : s.tokens.commonPrefix(r.prompt());
    }

    /** The prefix of the prompt a run may take from elsewhere: never the last token, whose logits it needs. */
    private static int sharable(int common, int[] prompt) {
        return Math.min(common, prompt.length - 1);
    }

    /**
     * Copies into slot s's cache the longest prefix of its prompt that another slot (running or
     * free) has computed, or the prompt cache holds, beyond what s holds, when that is worth it.
     * Not for prompts that want logprobs of their own tokens, which need every position's logits.
     */
    private void copySharedPrefix(Slot s) {
        Run run = s.run;
        GenerationRequest r = run.seq.request();
        if (r.promptLogprobs()) return;
        int[] prompt = r.prompt();
        KvCache from = null;
        int best = run.promptPos;
        for (Slot o : slots) {
            if (o == s) continue;
            int c = sharable(reusablePrefix(o, r), prompt);
            if (c > best) {
                from = o.cache;
                best = c;
            }
        }
        PromptCache.Match kept = promptCache.entries() == 0 ? null : promptCache.longest(prompt, r.cacheScope());
        boolean restored = kept != null && sharable(kept.common(), prompt) > best;
        if (restored) best = sharable(kept.common(), prompt);
        if (!restored && from == null || !worthSharing(best, prompt.length)) return;
        if (restored) kept.entry().restore(s.cache, best);
        else s.cache.copyFrom(from, best);
        for (int p = run.promptPos; p < best; p++) s.tokens.add(prompt[p]);
        if (restored) {
            promptCache.touch(kept.entry());
            restoredTokens += best - run.promptPos;
        }
        run.cached += best - run.promptPos;
        run.promptPos = best;
    }

    /**
     * Whether slot s should leave its prompt out of this step because an older prompt, in the
     * batch before it, is computing a prefix the two share (worth sharing, and beyond what s has):
     * s copies it when it is done rather than computing it too.
     */
    private static boolean waitsForSharedPrefix(Slot s, Slot[] prompting) {
        Run run = s.run;
        GenerationRequest r = run.seq.request();
        if (r.promptLogprobs()) return false;
        int[] prompt = r.prompt();
        for (Slot o : prompting) {
            if (o == s) return false;  // only older prompts, which come first
            if (o.run == null || !Objects.equals(o.run.seq.request().cacheScope(), r.cacheScope())) continue;
            int[] other = o.run.seq.request().prompt();
            int c = sharable(commonPrefix(other, other.length, prompt), prompt);
            if (c > run.promptPos && o.run.promptPos < c && worthSharing(c, prompt.length)) return true;
        }
        return false;
    }

    /** How many of the first {@code aLength} of a and of b are the same. */
    private static int commonPrefix(int[] a, int aLength, int[] b) {
        return commonPrefix(a, aLength, b, b.length);
    }

    /** How many of the first {@code aLength} of a and the first {@code bLength} of b are the same. */
    static int commonPrefix(int[] a, int aLength, int[] b, int bLength) {
        int at = Arrays.mismatch(a, 0, aLength, b, 0, bLength);
        return at < 0 ? aLength : at;
    }

    private void advancePrompt(Slot s, Run run) {
        GenerationRequest r = run.seq.request();
        int[] prompt = r.prompt();
        int from = run.promptPos, k = run.rowCount;
        for (int i = 0; i < k; i++) s.tokens.add(prompt[from + i]);
        if (r.promptLogprobs()) {
            int top = Math.max(0, r.topLogprobs());
            for (int i = 0; i < k; i++) {
                int p = from + i;
                if (p + 1 >= prompt.length) break;
                System.arraycopy(logits, (run.logitRow + i) * vocab, scratch, 0, vocab);
                int next = prompt[p + 1];
                float lp = (float) (scratch[next] - LogProbs.logSumExp(scratch, vocab));
                run.promptInfo.add(new TokenInfo(next, tokenizer.tokenBytes(next), lp, top > 0 ? LogProbs.top(scratch, vocab, top) : List.of()));
            }
        }
        run.promptPos += k;
        promptTokens += k;
        if (run.promptPos < prompt.length) return;
        run.promptNanos = System.nanoTime() - run.startNanos;
        run.genStart = System.nanoTime();
        run.seq.emit(new SequenceEvent.PromptDone(r.promptLogprobs() ? List.copyOf(run.promptInfo) : List.of(), run.cached));
        if (r.maxTokens() == 0) {
            finish(s, FinishReason.LENGTH, false);
            return;
        }
        int lastRow = r.promptLogprobs() ? run.logitRow + k - 1 : run.logitRow;
        onLogits(s, lastRow * vocab);
    }

    /** Samples the next token of a sequence from the logits at {@code off}, reports it, and decides whether to go on. */
    private void onLogits(Slot s, int off) {
        Run run = s.run;
        GenerationRequest r = run.seq.request();
        float[] raw = run.raw;
        System.arraycopy(logits, off, raw, 0, vocab);
        float[] v = raw;
        if (!r.logitBias().isEmpty() || run.constraint != null) {
            System.arraycopy(raw, 0, run.work, 0, vocab);
            v = run.work;
            for (Map.Entry<Integer, Float> e : r.logitBias().entrySet()) v[e.getKey()] += e.getValue();
            if (run.constraint != null) run.constraint.mask(v, vocab);
        }
        int token = run.sampler.sample(v, vocab);
        run.sampler.accept(token);
        if (run.constraint != null) run.constraint.accept(token);
        if (!r.ignoreEos() && tokenizer.isEndOfGeneration(token)) {
            finish(s, FinishReason.STOP, false);
            return;
        }
        run.generated++;
        run.pendingCount++;
        generatedTokens++;
        byte[] bytes = tokenizer.tokenBytes(token);
        if (r.wantsLogprobs()) {
            double lse = LogProbs.logSumExp(raw, vocab);
            List<TokenLogprob> top = r.topLogprobs() > 0 ? LogProbs.top(raw, vocab, r.topLogprobs()) : List.of();
            run.pendingInfo.add(new TokenInfo(token, bytes, (float) (raw[token] - lse), top));
        }
        run.text.append(run.utf8.append(bytes));
        if (!run.stops.isEmpty()) {
            int at = run.stops.find(run.text, run.emitted);
            if (at >= 0) {
                run.stopWord = run.stops.at(run.text, at);
                run.text.setLength(Math.max(at, run.emitted));
                run.pendingInfo.clear();
                finish(s, FinishReason.STOP, false);
                return;
            }
        }
        int safe = run.stops.isEmpty() ? run.text.length() : run.stops.safeLength(run.text);
        if (safe > run.emitted) {
            run.seq.emit(new SequenceEvent.Text(run.text.substring(run.emitted, safe), run.takeCount(), run.takeInfo()));
            run.emitted = safe;
        }
        int limit = r.maxTokens() < 0 ? Integer.MAX_VALUE : r.maxTokens();
        int position = r.prompt().length + run.generated - 1; // where this token's keys and values go
        if (run.generated >= limit || position >= s.cache.capacity()) {
            finish(s, FinishReason.LENGTH, false);
            return;
        }
        run.pending = token;
        run.position = position;
        run.generating = true;
    }

    private void finish(Slot s, FinishReason reason, boolean timedOut) {
        Run run = s.run;
        if (reason != FinishReason.STOP) run.text.append(run.utf8.flush());
        if (run.text.length() > run.emitted || run.pendingCount > 0) {
            run.seq.emit(new SequenceEvent.Text(run.text.substring(Math.min(run.emitted, run.text.length())), run.takeCount(), run.takeInfo()));
            run.emitted = run.text.length();
        }
        long now = System.nanoTime();
        long promptNanos = run.promptNanos >= 0 ? run.promptNanos : now - run.startNanos;
        long genNanos = run.genStart > 0 ? now - run.genStart : 0;
        run.seq.emit(new SequenceEvent.Done(reason, run.text.toString(), run.seq.request().prompt().length, run.cached,
                run.generated, promptNanos, genNanos, timedOut, run.stopWord));
        release(s);
    }

    private void fail(Slot s, Throwable error) {
        Run run = s.run;
        if (run == null) return;
        run.seq.emit(new SequenceEvent.Failed(error));
        s.cache.truncate(0); // its contents are unknown now
        s.tokens.size = 0;
        release(s);
    }

    private void release(Slot s) {
        s.run = null;
        s.lastUsed = ++useClock;
        lock.lock();
        try {
            busy--;
            if (busy == 0 && queue.isEmpty()) idle.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A slot: a KV cache, the tokens it holds, and the sequence using it if any. */
    private static final class Slot {
        final int index;
        final KvCache cache;
        final Tokens tokens = new Tokens();
        String scope;  // the cache scope of the requests whose tokens these are
        Run run;
        Sequence admitted;  // taken from the queue for this slot, not started yet
        long lastUsed;

        Slot(int index, KvCache cache) {
            this.index = index;
            this.cache = cache;
        }
    }

    /** The state of one running sequence. */
    private final class Run {
        final Sequence seq;
        final Sampler sampler;
        final TokenConstraint constraint;
        final StopStrings stops;
        String stopWord; // the stop string that ended the sequence
        final Utf8Accumulator utf8 = new Utf8Accumulator();
        final StringBuilder text = new StringBuilder();
        final List<TokenInfo> promptInfo = new ArrayList<>();
        List<TokenInfo> pendingInfo = new ArrayList<>();
        final float[] raw = new float[vocab];
        final float[] work;
        int cached;             // prompt tokens not evaluated: found in the slot or copied from another
        final long startNanos;
        long promptNanos = -1, genStart;
        int promptPos;          // next prompt index to evaluate
        boolean generating;     // the prompt is done; pending is the last sampled token, not yet evaluated
        int pending, position;  // the token to evaluate next and its position
        int generated;          // tokens sampled (an end-of-generation token is not counted)
        int emitted;            // chars of text already sent
        int pendingCount;       // tokens sampled since the last Text event
        int rowCount, logitRow; // this step's rows and its first logits row

        Run(Sequence seq, int cached, long now) {
            this.seq = seq;
            GenerationRequest r = seq.request();
            this.sampler = new Sampler(r.sampling(), tokenizer);
            this.constraint = r.constraint() == null ? null : r.constraint().get();
            this.stops = new StopStrings(r.stop());
            this.work = r.logitBias().isEmpty() && constraint == null ? null : new float[vocab];
            this.cached = cached;
            this.promptPos = cached;
            this.startNanos = now;
        }

        int takeCount() {
            int c = pendingCount;
            pendingCount = 0;
            return c;
        }

        List<TokenInfo> takeInfo() {
            if (pendingInfo.isEmpty()) return List.of();
            List<TokenInfo> out = pendingInfo;
            pendingInfo = new ArrayList<>();
            return out;
        }
    }

    /** A growable list of token ids. */
    private static final class Tokens {
        int[] a = new int[64];
        int size;

        void add(int t) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            a[size++] = t;
        }

        int commonPrefix(int[] other) {
            return Scheduler.commonPrefix(a, size, other);
        }
    }
}
