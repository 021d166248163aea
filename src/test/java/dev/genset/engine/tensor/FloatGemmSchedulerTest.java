package dev.genset.engine.tensor;

import dev.genset.bench.ModelShape;
import dev.genset.bench.RandomModelWriter;
import dev.genset.engine.batch.GenerationRequest;
import dev.genset.engine.batch.Scheduler;
import dev.genset.engine.batch.SequenceEvent;
import dev.genset.engine.batch.TokenInfo;
import dev.genset.engine.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end through the scheduler, with {@link FloatGemm} and {@link ShortGemm} on for batches:
 * sixteen greedy sequences of a Q4_0 model (Q6_K output) decoded together, so their prompts and
 * decode steps are batches of sixteen rows or more (Q4_0's in ShortGemm, Q6_K's in FloatGemm),
 * give token for token and log-probability for log-probability what each gives alone (single
 * rows: the integer kernels).
 */
@Timeout(120)
class FloatGemmSchedulerTest {

    private record Outcome(List<Integer> tokens, List<Float> logprobs) {}

    private static Outcome await(LinkedBlockingQueue<SequenceEvent> events) throws InterruptedException {
        List<Integer> tokens = new ArrayList<>();
        List<Float> logprobs = new ArrayList<>();
        while (true) {
            SequenceEvent e = events.poll(60, TimeUnit.SECONDS);
            assertThat(e).as("event").isNotNull();
            switch (e) {
                case SequenceEvent.Text t -> {
                    for (TokenInfo i : t.logprobs()) {
                        tokens.add(i.token());
                        logprobs.add(i.logprob());
                    }
                }
                case SequenceEvent.Done d -> {
                    return new Outcome(tokens, logprobs);
                }
                case SequenceEvent.Failed f -> throw new AssertionError("sequence failed", f.error());
                default -> { }
            }
        }
    }

    @Test
    void batchedSequencesGiveWhatTheyGiveAlone(@TempDir Path dir) throws Exception {
        boolean was = FloatGemm.enabled, shorts = ShortGemm.enabled;
        FloatGemm.enabled = true;
        ShortGemm.enabled = true;
        var shape = new ModelShape("small-llama", "llama", 256, 2, 4, 2, 64, 512, 32000, 512, 10000f, 1e-5f,
                false, false, false, false, "ggml-vocab-llama-spm.gguf");
        Path file = dir.resolve("q4_0.gguf");
        new RandomModelWriter(shape, RandomModelWriter.FileType.Q4_0, 3).write(file);
        String[] prompts = {"Once upon a time", "Tom had a red ball", "The sun", "Lily and Ben went to the park", "One day",
                "She saw a big dog", "The little bird", "Mom said", "A cat sat", "It was cold", "They ran home", "The end",
                "Sam found a box", "The rain fell", "Her hat was blue", "At night"};
        try (Model model = Model.load(file); Parallel pool = new Parallel(2)) {
            List<Outcome> alone = new ArrayList<>();
            try (Scheduler s = new Scheduler(model, pool, new Scheduler.Config(16, 96, 64, 16))) {
                for (String p : prompts) {
                    var events = new LinkedBlockingQueue<SequenceEvent>();
                    s.submit(request(model, p), events::add);
                    alone.add(await(events));
                }
            }
            try (Scheduler t = new Scheduler(model, pool, new Scheduler.Config(16, 96, 64, 16))) {
                List<LinkedBlockingQueue<SequenceEvent>> all = new ArrayList<>();
                for (String p : prompts) {
                    var events = new LinkedBlockingQueue<SequenceEvent>();
                    t.submit(request(model, p), events::add);
                    all.add(events);
                }
                for (int i = 0; i < prompts.length; i++) {
                    Outcome o = await(all.get(i));
                    assertThat(o.tokens()).as(prompts[i]).hasSize(20).isEqualTo(alone.get(i).tokens());
                    assertThat(o.logprobs()).as(prompts[i]).isEqualTo(alone.get(i).logprobs());
                }
                assertThat(t.stats().steps()).as("batched steps").isLessThan(16 * 20);
            }
        } finally {
            FloatGemm.enabled = was;
            ShortGemm.enabled = shorts;
        }
    }

    private static GenerationRequest request(Model model, String prompt) {
        return GenerationRequest.greedy(model.tokenizer().encode(prompt, true, true), 20).withTopLogprobs(1).withIgnoreEos(true);
    }
}
