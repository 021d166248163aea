package dev.genset.engine.batch;

import dev.genset.engine.generate.FinishReason;
import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.GenerationResult;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.Model;
import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

@Timeout(60)
class SchedulerTest {
    static Model model;
    static Parallel pool;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestFiles.storiesModel());
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    /** What a sequence reported, collected from its events. */
    record Outcome(String text, List<Integer> tokens, List<TokenInfo> infos, SequenceEvent.Done done, SequenceEvent.PromptDone prompt) {}

    static final class Collector {
        final LinkedBlockingQueue<SequenceEvent> events = new LinkedBlockingQueue<>();

        Outcome await() throws InterruptedException {
            StringBuilder text = new StringBuilder();
            List<Integer> tokens = new ArrayList<>();
            List<TokenInfo> infos = new ArrayList<>();
            SequenceEvent.PromptDone prompt = null;
            int[] count = {0};
            while (true) {
                SequenceEvent e = events.poll(30, TimeUnit.SECONDS);
                assertThat(e).as("event").isNotNull();
                switch (e) {
                    case SequenceEvent.PromptDone p -> prompt = p;
                    case SequenceEvent.Text t -> {
                        text.append(t.text());
                        for (TokenInfo i : t.logprobs()) tokens.add(i.token());
                        infos.addAll(t.logprobs());
                        count[0] += t.tokens();
                    }
                    case SequenceEvent.Done d -> {
                        assertThat(d.text()).isEqualTo(text.toString());
                        assertThat(count[0]).isEqualTo(d.completionTokens());
                        return new Outcome(text.toString(), tokens, infos, d, prompt);
                    }
                    case SequenceEvent.Failed f -> throw new AssertionError("sequence failed", f.error());
                }
            }
        }
    }

    static Outcome run(Scheduler s, GenerationRequest r) throws InterruptedException {
        Collector c = new Collector();
        s.submit(r, c.events::add);
        return c.await();
    }

    int[] encode(String text) {
        return model.tokenizer().encode(text, true, true);
    }

    @Test
    void greedyMatchesTheReferenceContinuation() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(2, 128, 32, 4))) {
            Outcome o = run(s, GenerationRequest.greedy(encode("Once upon a time"), 32).withTopLogprobs(0));
            assertThat(o.text()).isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");
            assertThat(o.tokens()).containsExactly(432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
                    410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394);
            assertThat(o.done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(o.done().completionTokens()).isEqualTo(32);
            assertThat(o.done().promptTokens()).isEqualTo(5);
        }
    }

    @Test
    void sameAsTheSingleSequenceGenerator() throws Exception {
        int[] prompt = encode("The cat");
        GenerationResult alone;
        try (Parallel p = new Parallel(1)) {
            alone = new Generator(model, p, 128, 16).generate(prompt, new GenerationOptions(40, SamplerConfig.greedy(), List.of(), false), t -> {}, null);
        }
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 4))) {
            Outcome o = run(s, GenerationRequest.greedy(prompt, 40));
            assertThat(o.text()).isEqualTo(alone.text());
            assertThat(o.done().reason()).isEqualTo(alone.finishReason());
        }
    }

    @Test
    void concurrentGreedySequencesEachGiveWhatTheyGiveAlone() throws Exception {
        String[] prompts = {"Once upon a time", "Tom had a red ball", "The sun", "Lily and Ben went to the park", "One day",
                "She saw a big dog", "The little bird", "Mom said"};
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(8, 128, 16, 16))) {
            List<Outcome> alone = new ArrayList<>();
            for (String p : prompts) alone.add(run(s, GenerationRequest.greedy(encode(p), 60).withTopLogprobs(2)));
            // A fresh scheduler so no prompt is served from a slot's cache, then all at once.
            try (Scheduler t = new Scheduler(model, pool, new Scheduler.Config(8, 128, 16, 16))) {
                List<Collector> cs = submitAll(t, prompts, 60, 2);
                for (int i = 0; i < prompts.length; i++) {
                    Outcome o = cs.get(i).await();
                    assertThat(o.text()).as(prompts[i]).isEqualTo(alone.get(i).text());
                    assertThat(o.tokens()).as(prompts[i]).isEqualTo(alone.get(i).tokens());
                    for (int j = 0; j < o.infos().size(); j++)
                        assertThat(o.infos().get(j).logprob()).isEqualTo(alone.get(i).infos().get(j).logprob());
                }
                assertThat(t.stats().steps()).as("batched steps").isLessThan(8 * 60);
            }
        }
    }

    /**
     * A mixture of experts batched: a decode step of several sequences runs each expert over the
     * rows routed to it, a sequence alone takes its experts' products together; tokens and their
     * log-probabilities are the same bit for bit (Q4_0 weights: the integer kernels).
     */
    @Test
    void concurrentGreedySequencesOfAMixtureOfExpertsGiveWhatTheyGiveAlone(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        var shape = new dev.genset.bench.ModelShape("small-qwen3moe", "qwen3moe", 256, 2, 4, 2, 64, 256, 32000, 512, 1e6f, 1e-6f,
                false, false, true, false, "ggml-vocab-llama-spm.gguf", 8, 2);
        java.nio.file.Path f = dir.resolve("moe.gguf");
        new dev.genset.bench.RandomModelWriter(shape, dev.genset.bench.RandomModelWriter.FileType.Q4_0, 5).write(f);
        String[] prompts = {"Once upon a time", "Tom had a red ball", "The sun", "Lily and Ben went to the park"};
        try (Model moe = Model.load(f)) {
            List<Outcome> alone = new ArrayList<>();
            try (Scheduler s = new Scheduler(moe, pool, new Scheduler.Config(4, 128, 16, 16))) {
                for (String p : prompts)
                    alone.add(run(s, GenerationRequest.greedy(moe.tokenizer().encode(p, true, true), 24).withTopLogprobs(2).withIgnoreEos(true)));
            }
            try (Scheduler t = new Scheduler(moe, pool, new Scheduler.Config(4, 128, 16, 16))) {
                List<Collector> cs = new ArrayList<>();
                for (String p : prompts) {
                    Collector c = new Collector();
                    t.submit(GenerationRequest.greedy(moe.tokenizer().encode(p, true, true), 24).withTopLogprobs(2).withIgnoreEos(true), c.events::add);
                    cs.add(c);
                }
                for (int i = 0; i < prompts.length; i++) {
                    Outcome o = cs.get(i).await();
                    assertThat(o.tokens()).as(prompts[i]).hasSize(24).isEqualTo(alone.get(i).tokens());
                    for (int j = 0; j < o.infos().size(); j++)
                        assertThat(o.infos().get(j).logprob()).isEqualTo(alone.get(i).infos().get(j).logprob());
                }
                assertThat(t.stats().steps()).as("batched steps").isLessThan(4 * 24);
            }
        }
    }

    /** A slot running a sequence shows it: the scheduler is held inside its first event while the slots are read. */
    @Test
    void slotStatesShowARunningSequence() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(2, 128, 16, 4))) {
            assertThat(s.slotStates()).extracting(Scheduler.SlotState::processing).containsExactly(false, false);
            var inside = new java.util.concurrent.CountDownLatch(1);
            var release = new java.util.concurrent.CountDownLatch(1);
            Collector c = new Collector();
            Sequence seq = s.submit(GenerationRequest.greedy(encode("Once upon a time"), 20), e -> {
                if (e instanceof SequenceEvent.Text && inside.getCount() > 0) {
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException x) {
                        Thread.currentThread().interrupt();
                    }
                }
                c.events.add(e);
            });
            assertThat(inside.await(30, TimeUnit.SECONDS)).isTrue();
            var busy = s.slotStates().stream().filter(Scheduler.SlotState::processing).toList();
            assertThat(busy).hasSize(1);
            assertThat(busy.getFirst().sequence()).isEqualTo(seq.id());
            assertThat(busy.getFirst().generated()).isPositive();
            assertThat(busy.getFirst().remaining()).isEqualTo(20 - busy.getFirst().generated());
            assertThat(busy.getFirst().cachedTokens()).isGreaterThanOrEqualTo(5);
            release.countDown();
            c.await();
        }
    }

    @Test
    void reusesTheLongestCachedPrefix() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(2, 128, 16, 4))) {
            int[] first = encode("Once upon a time there was a dog");
            Outcome a = run(s, GenerationRequest.greedy(first, 8));
            assertThat(a.done().cachedTokens()).isZero();
            Outcome other = run(s, GenerationRequest.greedy(encode("Tom"), 4)); // takes the other, empty slot
            assertThat(other.done().cachedTokens()).isZero();
            int[] next = encode("Once upon a time there was a dog and a cat");
            Outcome b = run(s, GenerationRequest.greedy(next, 8));
            assertThat(b.done().cachedTokens()).isEqualTo(first.length);
            // Served from the cache or not, the continuation is the same.
            try (Scheduler fresh = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 4))) {
                assertThat(run(fresh, GenerationRequest.greedy(next, 8)).text()).isEqualTo(b.text());
            }
            Outcome again = run(s, GenerationRequest.greedy(next, 8));
            assertThat(again.done().cachedTokens()).isEqualTo(next.length - 1);
            assertThat(again.text()).isEqualTo(b.text());
        }
    }

    /**
     * Many clients sending the same prompt, or prompts behind one system prompt, at once: the
     * shared part is computed once and copied to the other slots, and every sequence still gives
     * what it gives alone, bit for bit.
     */
    @Test
    void promptsSentTogetherComputeTheirSharedPrefixOnce() throws Exception {
        String system = "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends.";
        String[] prompts = {system + " One day", system + " One day", system + " One day", system + " Her mom said", system + " The sun"};
        List<Outcome> alone = new ArrayList<>();
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8))) {
            for (String p : prompts) alone.add(run(s, GenerationRequest.greedy(encode(p), 20).withTopLogprobs(1)));
        }
        int shared = commonPrefixLength(encode(prompts[0]), encode(prompts[3]));
        assertThat(shared).as("tokens of the system prompt").isGreaterThanOrEqualTo(16);
        try (Scheduler t = new Scheduler(model, pool, new Scheduler.Config(5, 128, 16, 8))) {
            List<Collector> cs = submitAll(t, prompts, 20, 1);
            List<Outcome> together = new ArrayList<>();
            for (Collector c : cs) together.add(c.await());
            for (int i = 0; i < prompts.length; i++) {
                assertThat(together.get(i).tokens()).as(prompts[i]).isEqualTo(alone.get(i).tokens());
                for (int j = 0; j < together.get(i).infos().size(); j++)
                    assertThat(together.get(i).infos().get(j).logprob()).isEqualTo(alone.get(i).infos().get(j).logprob());
            }
            int length = encode(prompts[0]).length;
            assertThat(together.get(0).done().cachedTokens()).isZero();
            assertThat(together.get(1).done().cachedTokens()).as("the same prompt").isEqualTo(length - 1);
            assertThat(together.get(2).done().cachedTokens()).isEqualTo(length - 1);
            assertThat(together.get(3).done().cachedTokens()).as("behind the same system prompt").isGreaterThanOrEqualTo(shared);
            assertThat(together.get(4).done().cachedTokens()).isGreaterThanOrEqualTo(shared);
            long evaluated = 0;
            for (String p : prompts) evaluated += encode(p).length;
            for (Outcome o : together) evaluated -= o.done().cachedTokens();
            assertThat(t.stats().promptTokens()).as("prompt tokens computed").isEqualTo(evaluated);
        }
    }

    /** Prompts of different cache scopes neither wait for nor copy each other's computed tokens; the same scope does. */
    @Test
    void cacheScopesKeepComputedPromptsApart() throws Exception {
        int[] prompt = encode("Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends.");
        try (Scheduler t = new Scheduler(model, pool, new Scheduler.Config(4, 128, 16, 8))) {
            Collector a = new Collector(), b = new Collector(), c = new Collector();
            t.submit(GenerationRequest.greedy(prompt, 4).withCacheScope("team a"), a.events::add);
            t.submit(GenerationRequest.greedy(prompt, 4).withCacheScope("team b"), b.events::add);
            t.submit(GenerationRequest.greedy(prompt, 4).withCacheScope("team a"), c.events::add);
            Outcome first = a.await(), other = b.await(), same = c.await();
            assertThat(first.done().cachedTokens()).isZero();
            assertThat(other.done().cachedTokens()).as("another scope").isZero();
            assertThat(same.done().cachedTokens()).as("the same scope").isEqualTo(prompt.length - 1);
            assertThat(first.text()).isNotEmpty();
            assertThat(other.text()).isEqualTo(first.text());
            assertThat(same.text()).isEqualTo(first.text());
        }
    }

    /**
     * One slot, so every new prompt overwrites what it holds: a prompt the slot moved on from comes
     * back from the prompt cache, with the tokens and logprobs computing it gives, counted as
     * cached; the next turn of its conversation too. Not in another scope, and not without a cache.
     */
    /** Two models sharing one prompt-cache budget: the one left idle gives its older prompts back when the busy one runs out of room. */
    @Test
    void anIdleSchedulersPromptCacheGivesRoomToABusyOne() throws Exception {
        String[] stories = {"Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends.",
                "Tom had a big red ball and a small dog. He liked to run and jump in the garden every day.",
                "The sun was warm and the birds were singing in the tall green trees near the old house.",
                "One day a little cat found a shiny box under the bed and wanted to see what was inside it."};
        long entry = model.newCache(128).savedBytes(encode(stories[0]).length + 8);
        PromptCacheBudget shared = new PromptCacheBudget(3 * entry + entry / 2); // room for three kept prompts in all
        try (Scheduler idle = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8, 1 << 20), shared);
             Scheduler busy = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8, 1 << 20), shared)) {
            for (int i = 0; i < 3; i++) run(idle, GenerationRequest.greedy(encode(stories[i]), 8)); // keeps the first two
            assertThat(idle.stats().cachedPrompts()).isEqualTo(2);
            for (int i = 0; i < 3; i++) run(busy, GenerationRequest.greedy(encode(stories[(i + 1) % 4]), 8));
            // the busy one kept one, then ran out of room: it dropped its own to keep the next, and asked the idle one for
            // room, which that serves in its next turn (it wakes every 100 ms)
            assertThat(busy.stats().cachedPrompts()).isEqualTo(1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (idle.stats().cachedPrompts() == 2 && System.nanoTime() < deadline) Thread.sleep(20);
            assertThat(idle.stats().cachedPrompts()).as("the idle model's older prompts went").isLessThan(2);
            run(busy, GenerationRequest.greedy(encode(stories[0]), 8));
            assertThat(busy.stats().cachedPrompts()).as("the busy one keeps its next prompt in the room given back").isEqualTo(2);
            assertThat(shared.used()).isLessThanOrEqualTo(shared.limit());
        }
    }

    @Test
    void promptsTheSlotMovedOnFromComeBackFromThePromptCache() throws Exception {
        String story = "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends.";
        int[] prompt = encode(story), other = encode("Tom had a big red ball and a small dog. He liked to run and jump in the garden every day.");
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8, 1 << 20))) {
            Outcome first = run(s, GenerationRequest.greedy(prompt, 8).withTopLogprobs(1));
            assertThat(s.stats().cachedPrompts()).isZero();
            run(s, GenerationRequest.greedy(other, 8));
            assertThat(s.stats().cachedPrompts()).as("the story, kept when the slot moved on").isEqualTo(1);
            assertThat(s.stats().cachedPromptBytes()).isPositive();

            Outcome again = run(s, GenerationRequest.greedy(prompt, 8).withTopLogprobs(1));
            assertThat(again.done().cachedTokens()).isEqualTo(prompt.length - 1);
            assertThat(s.stats().restoredTokens()).as("all but the BOS token the slot still held").isEqualTo(prompt.length - 2);
            assertThat(again.tokens()).isEqualTo(first.tokens());
            for (int j = 0; j < first.infos().size(); j++)
                assertThat(again.infos().get(j).logprob()).isEqualTo(first.infos().get(j).logprob());
            assertThat(s.stats().cachedPrompts()).as("the other prompt, kept in turn").isEqualTo(2);

            int[] nextTurn = encode(story + first.text() + " One day");
            run(s, GenerationRequest.greedy(other, 8));
            Outcome turn = run(s, GenerationRequest.greedy(nextTurn, 8));
            assertThat(turn.done().cachedTokens()).as("the conversation so far, prompt and answer").isGreaterThan(prompt.length);
            try (Scheduler fresh = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8))) {
                assertThat(run(fresh, GenerationRequest.greedy(nextTurn, 8)).text()).isEqualTo(turn.text());
            }

            run(s, GenerationRequest.greedy(other, 8));
            assertThat(run(s, GenerationRequest.greedy(prompt, 8).withCacheScope("team b")).done().cachedTokens()).as("another scope").isZero();
        }
        try (Scheduler none = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 8))) {
            run(none, GenerationRequest.greedy(prompt, 8));
            run(none, GenerationRequest.greedy(other, 8));
            assertThat(run(none, GenerationRequest.greedy(prompt, 8)).done().cachedTokens()).as("no prompt cache: the BOS token the slot holds").isEqualTo(1);
            assertThat(none.stats().cachedPrompts()).isZero();
        }
    }

    /** A sequence that cannot start (its constraint fails to build) fails alone; the slot and the scheduler go on. */
    @Test
    void aSequenceThatCannotStartFailsAlone() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 4))) {
            LinkedBlockingQueue<SequenceEvent> events = new LinkedBlockingQueue<>();
            s.submit(GenerationRequest.greedy(encode("Once upon a time"), 4).withConstraint(() -> {
                throw new IllegalStateException("no constraint today");
            }), events::add);
            SequenceEvent e = events.poll(30, TimeUnit.SECONDS);
            assertThat(e).isInstanceOf(SequenceEvent.Failed.class);
            assertThat(((SequenceEvent.Failed) e).error()).hasMessage("no constraint today");
            assertThat(run(s, GenerationRequest.greedy(encode("Once upon a time"), 4)).done().completionTokens()).isEqualTo(4);
            assertThat(s.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(s.busySlots()).isZero();
        }
    }

    /**
     * A mixed load: prompts drawn from a few prefixes with suffixes of their own, in two cache
     * scopes, more of them than slots, some cancelled at once. Whatever was copied, waited for or
     * computed, every finished sequence gives what it gives alone.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {7, 8, 9, 10, 11, 12})
    void aMixedLoadOfSharedPrefixesGivesWhatEachGivesAlone(int seed) throws Exception {
        String[] prefixes = {"Once upon a time there was a little girl named Lily. She loved to play outside", "Tom had a big red ball and a small dog",
                "The sun was shining and the birds were singing in the tall green trees"};
        String[] suffixes = {"", " One day", " in the park", " with her mom", " and then", " but"};
        java.util.Random random = new java.util.Random(seed);
        int count = 14;
        String[] prompts = new String[count];
        String[] scopes = new String[count];
        for (int i = 0; i < count; i++) {
            prompts[i] = prefixes[random.nextInt(prefixes.length)] + suffixes[random.nextInt(suffixes.length)];
            scopes[i] = random.nextBoolean() ? "a" : null;
        }
        List<String> alone = new ArrayList<>();
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 16))) {
            for (String p : prompts) alone.add(run(s, GenerationRequest.greedy(encode(p), 12)).text());
        }
        try (Scheduler t = new Scheduler(model, pool, new Scheduler.Config(4, 128, 16, 16))) {
            List<Collector> cs = new ArrayList<>();
            List<Sequence> seqs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Collector c = new Collector();
                seqs.add(t.submit(GenerationRequest.greedy(encode(prompts[i]), 12).withCacheScope(scopes[i]), c.events::add));
                cs.add(c);
            }
            for (int i = 3; i < count; i += 5) seqs.get(i).cancel();
            int cached = 0;
            for (int i = 0; i < count; i++) {
                Outcome o = cs.get(i).await();
                if (o.done().reason() == FinishReason.CANCELLED) continue;
                assertThat(o.text()).as("%d: %s", i, prompts[i]).isEqualTo(alone.get(i));
                cached += o.done().cachedTokens();
            }
            assertThat(cached).as("prompt tokens found computed").isPositive();
        }
    }

    /** Greedy requests for every prompt submitted at once, without waiting for any. */
    List<Collector> submitAll(Scheduler t, String[] prompts, int maxTokens, int topLogprobs) {
        List<Collector> cs = new ArrayList<>();
        for (String p : prompts) {
            Collector c = new Collector();
            t.submit(GenerationRequest.greedy(encode(p), maxTokens).withTopLogprobs(topLogprobs), c.events::add);
            cs.add(c);
        }
        return cs;
    }

    private static int commonPrefixLength(int[] a, int[] b) {
        int i = 0;
        while (i < Math.min(a.length, b.length) && a[i] == b[i]) i++;
        return i;
    }

    @Test
    void promptLogprobsMatchTheLogprobsOfGeneratedTokens() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 8, 4))) {
            int[] prompt = encode("Once upon a time");
            Outcome gen = run(s, GenerationRequest.greedy(prompt, 12).withTopLogprobs(3));
            int[] all = new int[prompt.length + 12];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            for (int i = 0; i < 12; i++) all[prompt.length + i] = gen.tokens().get(i);
            Outcome echo = run(s, GenerationRequest.greedy(all, 0).withPromptLogprobs(true).withTopLogprobs(3));
            assertThat(echo.done().completionTokens()).isZero();
            assertThat(echo.done().reason()).isEqualTo(FinishReason.LENGTH);
            List<TokenInfo> p = echo.prompt().promptTokens();
            assertThat(p).hasSize(all.length);
            assertThat(p.get(0).logprob()).isNaN();
            for (int i = 0; i < 12; i++) {
                TokenInfo a = p.get(prompt.length + i), b = gen.infos().get(i);
                assertThat(a.token()).isEqualTo(b.token());
                assertThat(a.logprob()).isCloseTo(b.logprob(), within(1e-5f));
                assertThat(a.top().get(0).token()).isEqualTo(b.token()); // greedy: the top token was chosen
            }
        }
    }

    @Test
    void cancellingFreesTheSlot() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 4096, 16, 4))) {
            CountDownLatch started = new CountDownLatch(1);
            Collector c = new Collector();
            Sequence seq = s.submit(GenerationRequest.greedy(encode("Once"), -1).withIgnoreEos(true), e -> {
                if (e instanceof SequenceEvent.Text) started.countDown();
                c.events.add(e);
            });
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(s.busySlots()).isEqualTo(1);
            seq.cancel();
            Outcome o = c.await();
            assertThat(o.done().reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(o.done().completionTokens()).isLessThan(4000);
            assertThat(s.awaitIdle(Duration.ofSeconds(5))).isTrue();
            assertThat(s.busySlots()).isZero();
        }
    }

    @Test
    void timeoutCancelsAndSaysSo() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 8192, 16, 4))) {
            Outcome o = run(s, GenerationRequest.greedy(encode("Once"), -1).withIgnoreEos(true).withTimeout(Duration.ofMillis(100)));
            assertThat(o.done().reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(o.done().timedOut()).isTrue();
        }
    }

    @Test
    void boundedQueueRefusesWhenFull() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 8192, 16, 1))) {
            GenerationRequest endless = GenerationRequest.greedy(encode("Once"), -1).withIgnoreEos(true);
            List<Sequence> seqs = new ArrayList<>();
            seqs.add(s.submit(endless, e -> {}));
            // Wait until it holds the slot, then one may wait and the next is refused.
            while (s.busySlots() == 0) Thread.sleep(1);
            seqs.add(s.submit(endless, e -> {}));
            assertThatThrownBy(() -> s.submit(endless, e -> {})).isInstanceOf(QueueFullException.class);
            seqs.forEach(Sequence::cancel);
            assertThat(s.awaitIdle(Duration.ofSeconds(5))).isTrue();
        }
    }

    @Test
    void refusesPromptsLongerThanTheContext() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 16, 16, 1))) {
            assertThatThrownBy(() -> s.submit(GenerationRequest.greedy(new int[20], 1), e -> {}))
                    .isInstanceOf(PromptTooLongException.class).hasMessageContaining("at least 5 tokens");
            assertThatThrownBy(() -> s.submit(GenerationRequest.greedy(new int[] {1, 9999}, 1), e -> {}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("9999");
        }
    }

    @Test
    void stopStringsCutTheText() throws Exception {
        try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(1, 128, 16, 1))) {
            Outcome o = run(s, GenerationRequest.greedy(encode("Once upon a time"), 32).withStop(List.of("Lily")));
            assertThat(o.text()).isEqualTo(", there was a little girl named ");
            assertThat(o.done().reason()).isEqualTo(FinishReason.STOP);
        }
    }

    @Test
    void shutdownDrainsRunningSequences() throws Exception {
        Scheduler s = new Scheduler(model, pool, new Scheduler.Config(2, 128, 16, 4));
        Collector c = new Collector();
        s.submit(GenerationRequest.greedy(encode("Once upon a time"), 32), c.events::add);
        CompletableFuture<Void> down = CompletableFuture.runAsync(() -> s.shutdown(Duration.ofSeconds(20)));
        Outcome o = c.await();
        assertThat(o.done().reason()).isEqualTo(FinishReason.LENGTH);
        down.get(20, TimeUnit.SECONDS);
        assertThatThrownBy(() -> s.submit(GenerationRequest.greedy(encode("x"), 1), e -> {})).isInstanceOf(SchedulerClosedException.class);
    }
}
