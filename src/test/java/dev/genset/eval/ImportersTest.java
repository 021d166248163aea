package dev.genset.eval;

import dev.genset.eval.model.GenerationRequest;
import dev.genset.eval.model.LanguageModel;
import dev.genset.eval.model.LoglikelihoodRequest;
import dev.genset.eval.model.LoglikelihoodResult;
import dev.genset.eval.model.RollingResult;
import dev.genset.eval.task.Csv;
import dev.genset.eval.task.Task;
import dev.genset.eval.task.TaskSpec;
import dev.genset.eval.task.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The published benchmarks' file formats, a few rows each, prompted as lm-evaluation-harness prompts them. */
class ImportersTest {
    @TempDir Path dir;

    Path write(String relative, String text) throws Exception {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
        return p;
    }

    @Test
    void mmluCsvWithDevExamplesFirstN() throws Exception {
        write("data/test/abstract_algebra_test.csv", """
                "Find the degree of Q(sqrt(2)) over Q.",0,2,4,6,B
                "Which is a group, under addition?",the integers,"the naturals, with 0",the odd numbers,the primes,A
                """);
        write("data/dev/abstract_algebra_dev.csv", """
                What is 1+1 in Z_2?,0,1,2,3,A
                Is Z_5 a field?,yes,no,only under addition,none of these,A
                """);
        Task task = Task.load(Tasks.resolve("mmlu:" + dir.resolve("data")).withNumFewshot(1));
        assertThat(task.docs()).hasSize(2);
        Map<String, Object> doc = task.docs().get(1);
        assertThat(task.choices(doc)).containsExactly("A", "B", "C", "D");
        assertThat(task.targetIndex(doc, task.choices(doc))).isZero();
        assertThat(task.contexts(task.docs(), 1).get(1)).isEqualTo("""
                The following are multiple choice questions (with answers) about abstract algebra.

                What is 1+1 in Z_2?
                A. 0
                B. 1
                C. 2
                D. 3
                Answer: A

                Which is a group, under addition?
                A. the integers
                B. the naturals, with 0
                C. the odd numbers
                D. the primes
                Answer:""");
        // a single file finds its dev examples the same way
        Task one = Task.load(Tasks.resolve("mmlu:" + dir.resolve("data/test/abstract_algebra_test.csv")).withNumFewshot(2));
        assertThat(one.contexts(one.docs(), 2).getFirst()).contains("Is Z_5 a field?").endsWith("D. 6\nAnswer:");
    }

    @Test
    void cevalAndCmmluCsv() throws Exception {
        write("ceval/val/computer_network_val.csv", """
                id,question,A,B,C,D,answer,explanation
                0,使用位填充方法，以01111110为位首flag，数据为011011111111111111110010，求问传送时要添加几个0____,1,2,3,4,C,
                """);
        Task ceval = Task.load(Tasks.resolve("ceval:" + dir.resolve("ceval")));
        Map<String, Object> doc = ceval.docs().getFirst();
        assertThat(ceval.targetIndex(doc, ceval.choices(doc))).isEqualTo(2);
        assertThat(ceval.contexts(ceval.docs(), 0).getFirst()).isEqualTo(
                "以下是中国关于计算机网络考试的单项选择题，请选出其中的正确答案。\n\n"
                        + "使用位填充方法，以01111110为位首flag，数据为011011111111111111110010，求问传送时要添加几个0____\nA. 1\nB. 2\nC. 3\nD. 4\n答案：");

        write("cmmlu/test/agronomy.csv", """
                ,Question,A,B,C,D,Answer
                0,下列作物中属于豆科的是,水稻,大豆,小麦,玉米,B
                """);
        Task cmmlu = Task.load(Tasks.resolve("cmmlu:" + dir.resolve("cmmlu")));
        Map<String, Object> c = cmmlu.docs().getFirst();
        assertThat(c.get("id")).isEqualTo("0");
        assertThat(cmmlu.targetIndex(c, cmmlu.choices(c))).isEqualTo(1);
        assertThat(cmmlu.contexts(cmmlu.docs(), 0).getFirst()).isEqualTo(
                "以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n下列作物中属于豆科的是\nA. 水稻\nB. 大豆\nC. 小麦\nD. 玉米\n答案：");
    }

    @Test
    void hellaswagJsonlIsPreprocessedLikeTheHarness() throws Exception {
        Path f = write("hellaswag_val.jsonl", """
                {"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he", "ctx": "A man is sitting on a roof. he", "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof [title] Remove shingles."], "label": 3, "split": "val"}
                """);
        Task t = Task.load(Tasks.resolve("hellaswag:" + f));
        Map<String, Object> doc = t.docs().getFirst();
        assertThat(t.contexts(t.docs(), 0).getFirst()).isEqualTo("Roof shingle removal: A man is sitting on a roof. He");
        assertThat(t.choices(doc)).containsExactly("is using wrap to wrap a pair of skis.", "is ripping level tiles off.",
                "is holding a rubik's cube.", "starts pulling up roofing on a roof. Remove shingles.");
        assertThat(t.targetIndex(doc, t.choices(doc))).isEqualTo(3);
    }

    @Test
    void arcJsonlInBothShapes() throws Exception {
        Path f = write("ARC-Challenge-Test.jsonl", """
                {"id": "Mercury_7175875", "question": {"stem": "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?", "choices": [{"text": "Planetary density will decrease.", "label": "A"}, {"text": "Planetary years will become longer.", "label": "B"}, {"text": "Planetary days will become shorter.", "label": "C"}, {"text": "Planetary gravity will become stronger.", "label": "D"}]}, "answerKey": "C"}
                {"id": "x2", "question": "Which is a liquid at room temperature?", "choices": {"text": ["iron", "water", "salt"], "label": ["1", "2", "3"]}, "answerKey": "2"}
                """);
        var spec = Tasks.resolve("arc:" + f);
        assertThat(spec.name()).isEqualTo("arc_challenge");
        Task t = Task.load(spec);
        Map<String, Object> first = t.docs().getFirst(), second = t.docs().get(1);
        assertThat(t.contexts(t.docs(), 0).getFirst()).startsWith("Question: An astronomer").endsWith("rotation?\nAnswer:");
        assertThat(t.choices(first)).hasSize(4).contains("Planetary days will become shorter.");
        assertThat(t.targetIndex(first, t.choices(first))).isEqualTo(2);
        assertThat(t.choices(second)).containsExactly("iron", "water", "salt");
        assertThat(t.targetIndex(second, t.choices(second))).isEqualTo(1);
    }

    @Test
    void gsm8kExtractsHashAnswersAndScoresExactMatch() throws Exception {
        write("gsm8k/train.jsonl", """
                {"question": "Tom has 2 apples and buys 3 more. How many apples does he have?", "answer": "He has 2 + 3 = <<2+3=5>>5 apples.\\n#### 5"}
                """);
        Path test = write("gsm8k/test.jsonl", """
                {"question": "A box has 4 rows of 6 eggs. How many eggs?", "answer": "4 * 6 = <<4*6=24>>24\\n#### 24"}
                {"question": "Mia has $1,000 and spends $250. How much is left?", "answer": "1000 - 250 = 750\\n#### 750"}
                {"question": "What is 7 + 8?", "answer": "#### 15"}
                """);
        Task t = Task.load(Tasks.resolve("gsm8k:" + test).withNumFewshot(1));
        assertThat(t.contexts(t.docs(), 1).getFirst()).isEqualTo("""
                Question: Tom has 2 apples and buys 3 more. How many apples does he have?
                Answer: He has 2 + 3 = <<2+3=5>>5 apples.
                #### 5

                Question: A box has 4 rows of 6 eggs. How many eggs?
                Answer:""");
        // canned generations: strict-match needs "#### n", flexible-extract takes the last number
        LanguageModel canned = new Canned(List.of(" 4 times 6 is 24.\n#### 24", " She has $750 left.\n#### 750.", " The answer is 15."));
        TaskResult r = Evaluator.evaluate(t, canned, Evaluator.Options.defaults().withNumFewshot(1).withSamples(true));
        assertThat(r.metrics().get("exact_match,strict-match").value()).isCloseTo(2 / 3.0, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(r.metrics().get("exact_match,flexible-extract").value()).isEqualTo(1.0);
        assertThat(r.metrics().get("exact_match,strict-match").stderr()).isPositive();
    }

    @Test
    void csvParserAndInlineJsonTasks() throws Exception {
        assertThat(Csv.parse("a,\"b,c\",\"d \"\"e\"\"\"\r\n\"multi\nline\",x,\n")).containsExactly(
                List.of("a", "b,c", "d \"e\""), List.of("multi\nline", "x", ""));
        Path data = write("t/data.csv", "q,a\nWhat is 1+1?,2\n");
        Path task = write("t/task.json", """
                {"task": "csv-task", "type": "generate_until", "dataset": "data.csv", "prompt": "Q: {{q}}\\nA:", "target": "{{a}}"}
                """);
        TaskSpec spec = Tasks.resolve(task.toString());
        assertThat(spec.name()).isEqualTo("csv-task");
        Task t = Task.load(spec);
        assertThat(t.contexts(t.docs(), 0)).containsExactly("Q: What is 1+1?\nA:");
        assertThat(data).exists();
    }

    /** A model that answers generations from a list, in order. */
    record Canned(List<String> outputs) implements LanguageModel {
        public String name() { return "canned"; }
        public List<LoglikelihoodResult> loglikelihood(List<LoglikelihoodRequest> requests) { throw new UnsupportedOperationException(); }
        public List<String> generate(List<GenerationRequest> requests) { return new ArrayList<>(outputs.subList(0, requests.size())); }
        public List<RollingResult> loglikelihoodRolling(List<String> texts, int window, int stride) { throw new UnsupportedOperationException(); }
    }
}
