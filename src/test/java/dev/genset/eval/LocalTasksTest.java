package dev.genset.eval;

import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.eval.model.GenerationRequest;
import dev.genset.eval.model.LocalModel;
import dev.genset.eval.model.LoglikelihoodRequest;
import dev.genset.eval.model.LoglikelihoodResult;
import dev.genset.eval.task.Task;
import dev.genset.eval.task.TaskSpec;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Each task type end to end on the bundled model, with answers known in advance. */
class LocalTasksTest {
    static LocalModel lm;

    @BeforeAll
    static void load() throws Exception {
        lm = new LocalModel(Model.load(TestFiles.storiesModel()), new Parallel(2), 256, 64, true);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    static TaskResult run(String yaml) throws Exception {
        return Evaluator.evaluate(Task.load(TaskSpec.parse(yaml, false, null)), lm, Evaluator.Options.defaults().withSamples(true));
    }

    @Test
    void multipleChoicePicksTheStoryContinuation() throws Exception {
        TaskResult r = run("""
                task: story
                type: multiple_choice
                docs:
                  - {context: "Once upon a time,", choices: ["the quarterly report was filed late", "there was a little girl named Lily", "the kernel panicked twice"], gold: 1}
                  - {context: "Once upon a time, there was a little girl named", choices: ["Lily", "Zbigniew", "Quetzalcoatl"], gold: "Lily"}
                prompt: "{{context}}"
                choices: "{{choices}}"
                target: "{{gold}}"
                """);
        assertThat(r.documents()).isEqualTo(2);
        assertThat(r.metrics().get("acc").value()).isEqualTo(1.0);
        assertThat(r.metrics().get("acc_norm").value()).isEqualTo(1.0);
        assertThat(r.samples().getFirst().get("prediction")).isEqualTo(1);
    }

    @Test
    void loglikelihoodIsTheSumOverContinuationTokensAndReusesNothingWrongly() {
        // Scoring the same pair alone, in a batch with others, and in another order gives the same numbers.
        var a = new LoglikelihoodRequest("Once upon a time,", " there was a little girl named Lily");
        var b = new LoglikelihoodRequest("Once upon a time,", " there was a big dog");
        var c = new LoglikelihoodRequest("Lily went to the park.", " She saw a bird");
        double alone = lm.loglikelihood(List.of(a)).getFirst().logprob();
        List<LoglikelihoodResult> batch = lm.loglikelihood(List.of(c, b, a, b));
        assertThat(batch.get(2).logprob()).isCloseTo(alone, within(1e-5));
        assertThat(batch.get(1).logprob()).isCloseTo(batch.get(3).logprob(), within(1e-5));
        assertThat(batch.get(2).greedy()).isTrue(); // the greedy continuation of "Once upon a time,"
        assertThat(batch.get(1).greedy()).isFalse();
        assertThat(alone).isLessThan(0).isGreaterThan(batch.get(1).logprob());
    }

    @Test
    void generateUntilReproducesTheGreedyStory() throws Exception {
        List<String> out = lm.generate(List.of(new GenerationRequest("Once upon a time", List.of("\n\n"), 40)));
        assertThat(out.getFirst()).startsWith(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");

        TaskResult r = run("""
                task: story-gen
                type: generate_until
                docs:
                  - {prompt: "Once upon a time", answer: "Lily"}
                  - {prompt: "Once upon a time", answer: "Tom"}
                prompt: "{{prompt}}"
                target: "{{answer}}"
                generation: {until: ["."], max_tokens: 20}
                filters:
                  - {name: name, regex: "named (\\\\w+)"}
                """);
        assertThat(r.metrics()).containsKey("exact_match,name");
        assertThat(r.metrics().get("exact_match,name").value()).isEqualTo(0.5);
        assertThat(r.samples().getFirst().get("generation")).isEqualTo(", there was a little girl named Lily");
    }

    @Test
    void perplexityTaskCountsTokensWordsAndBytes() throws Exception {
        TaskResult r = Evaluator.evaluate(Task.load(TaskSpec.bundled("story-ppl")), lm, Evaluator.Options.defaults());
        // every token of the text is scored once: 888 tokens with BOS, 887 after it
        assertThat(r.metrics().get("tokens").value()).isEqualTo(887);
        double tokenPpl = r.metrics().get("token_perplexity").value();
        assertThat(tokenPpl).isBetween(2.0, 6.0);
        double nll = Math.log(tokenPpl) * 887;
        int bytes = 1786;
        assertThat(r.metrics().get("byte_perplexity").value()).isCloseTo(Math.exp(nll / bytes), within(1e-9));
        assertThat(r.metrics().get("bits_per_byte").value()).isCloseTo(nll / bytes / Math.log(2), within(1e-9));
        assertThat(r.metrics().get("word_perplexity").value()).isGreaterThan(tokenPpl);
    }

    @Test
    void bundledTasksRun() throws Exception {
        TaskResult mc = Evaluator.evaluate(Task.load(TaskSpec.bundled("story-cloze")), lm, Evaluator.Options.defaults());
        assertThat(mc.documents()).isEqualTo(5);
        assertThat(mc.metrics().get("acc").value()).isGreaterThanOrEqualTo(0.6);
        TaskResult gen = Evaluator.evaluate(Task.load(TaskSpec.bundled("arithmetic-gen")), lm, Evaluator.Options.defaults().withLimit(3));
        assertThat(gen.documents()).isEqualTo(3);
        assertThat(gen.numFewshot()).isEqualTo(3);
        assertThat(gen.metrics()).containsKey("exact_match,first-number");
    }
}
