package dev.genset.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.testing.Cli;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code genset bench} takes llama-bench's lists, ranges, depths, prompt-then-generate tests and output formats. */
class BenchCommandTest {

    @Test
    void numbersAreListsAndRangesAsLlamaBenchReadsThem() {
        assertThat(BenchCommand.numbers("-p", "128")).containsExactly(128);
        assertThat(BenchCommand.numbers("-p", "0,128, 512")).containsExactly(0, 128, 512);
        assertThat(BenchCommand.numbers("-t", "1-4")).containsExactly(1, 2, 3, 4);
        assertThat(BenchCommand.numbers("-p", "64-512*2")).containsExactly(64, 128, 256, 512);
        assertThat(BenchCommand.numbers("-d", "0-4096+1024")).containsExactly(0, 1024, 2048, 3072, 4096);
        assertThat(BenchCommand.numbers("-p", "16,1-2")).containsExactly(16, 1, 2);
    }

    @Test
    void badNumbersAreRefusedWithTheOptionNamed() {
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "12x")).hasMessageContaining("-p takes numbers").hasMessageContaining("'12x'");
        assertThatThrownBy(() -> BenchCommand.numbers("-n", "-5")).hasMessageContaining("-n");
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "8-4")).hasMessageContaining("ends before it starts");
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "0-8*2")).hasMessageContaining("never reaches its end");
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "1-8+0")).hasMessageContaining("never reaches its end");
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "1,,2")).hasMessageContaining("-p takes numbers");
        assertThatThrownBy(() -> BenchCommand.numbers("-p", "0-100000")).hasMessageContaining("more than 10,000");
        assertThatThrownBy(() -> BenchCommand.promptGen("512")).hasMessageContaining("-pg takes two positive numbers");
        assertThatThrownBy(() -> BenchCommand.promptGen("512,0")).hasMessageContaining("-pg");
        assertThat(BenchCommand.promptGen("512, 128").name()).isEqualTo("pp512+tg128");
    }

    @Test
    void everyCombinationRunsAtEveryDepthAndThreadCount() throws Exception {
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "8,16", "-n", "4", "-pg", "8,4", "-d", "0,24", "-t", "1-2",
                "-r", "2", "-o", "jsonl");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) rows.add(new ObjectMapper().readTree(line));
        // threads, then depth, then the tests: pp for each -p, tg for each -n, then each -pg
        List<String> want = new ArrayList<>();
        for (int t = 1; t <= 2; t++)
            for (int d : new int[] {0, 24})
                for (String test : new String[] {"8/0", "16/0", "0/4", "8/4"}) want.add(t + " " + d + " " + test);
        assertThat(rows).extracting(o -> o.get("n_threads").asInt() + " " + o.get("n_depth").asInt() + " " + o.get("n_prompt").asInt() + "/"
                + o.get("n_gen").asInt()).containsExactlyElementsOf(want);
        for (JsonNode o : rows) {
            assertThat(o.get("samples_ns").size()).isEqualTo(2);
            assertThat(o.get("avg_ts").asDouble()).isPositive();
            // t/s counts the test's own tokens, not the depth's
            double ts = (o.get("n_prompt").asInt() + o.get("n_gen").asInt()) * 1e9 / o.get("samples_ns").get(0).asLong();
            assertThat(o.get("samples_ts").get(0).asDouble()).isCloseTo(ts, org.assertj.core.data.Percentage.withPercentage(1e-6));
        }
    }

    /** --parallel runs each test for that many sequences together; every sequence's tokens count, and the table names it. */
    @Test
    void parallelSequencesAreTestsOfTheirOwn() throws Exception {
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "8", "-n", "4", "--parallel", "1,3", "-d", "0,8", "-t", "2",
                "-r", "2", "-o", "jsonl");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) rows.add(new ObjectMapper().readTree(line));
        assertThat(rows).extracting(o -> o.get("n_depth").asInt() + " " + o.get("n_prompt").asInt() + "/" + o.get("n_gen").asInt() + " x"
                + o.get("n_parallel").asInt()).containsExactly("0 8/0 x1", "0 0/4 x1", "0 8/0 x3", "0 0/4 x3", "8 8/0 x1", "8 0/4 x1", "8 8/0 x3",
                "8 0/4 x3");
        for (JsonNode o : rows) {
            int tokens = (o.get("n_prompt").asInt() + o.get("n_gen").asInt()) * o.get("n_parallel").asInt();
            double ts = tokens * 1e9 / o.get("samples_ns").get(1).asLong();
            assertThat(o.get("samples_ts").get(1).asDouble()).isCloseTo(ts, org.assertj.core.data.Percentage.withPercentage(1e-6));
            assertThat(o.get("n_batch").asInt()).isEqualTo(Math.max(1, o.get("n_prompt").asInt()) * o.get("n_parallel").asInt());
        }
        var table = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "0", "-n", "4", "--parallel", "2", "-t", "1", "-r", "1");
        assertThat(table.exitCode()).as(table.err()).isZero();
        assertThat(table.out()).contains(" tg4 x2 |");
        var bad = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "--parallel", "0");
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.err()).contains("--parallel must be at least 1");
    }

    /** {@code --breakdown}: after the results, a table per test whose parts, attention and the rest make up its passes. */
    @Test
    void breakdownTablesFollowTheResultsAndAddUp() throws Exception {
        int layers;
        try (var m = dev.genset.engine.model.Model.load(TestFiles.storiesModel())) {
            layers = m.config().layers();
        }
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "8", "-n", "4", "-t", "2", "-r", "2", "--breakdown");
        assertThat(r.exitCode()).as(r.err()).isZero();
        String out = r.out();
        assertThat(out.indexOf("| tg4 ")).as("results first").isLessThan(out.indexOf("where the time went"));
        for (String test : new String[] {"pp8", "tg4"}) {
            int at = out.indexOf(test + ", ");
            assertThat(at).as(test + "'s breakdown").isPositive();
            assertThat(out.substring(at)).contains(test.equals("pp8") ? "(2 repetitions, 16 tokens" : "(2 repetitions, 8 tokens");
            java.util.Map<String, String[]> rows = new java.util.LinkedHashMap<>();
            for (String line : out.substring(at).split("\n\n", 3)[1].split("\n")) {
                String[] cells = line.split("\\|");
                if (cells.length > 1 && !cells[1].isBlank() && !cells[1].strip().startsWith("-") && !cells[1].strip().equals("part"))
                    rows.put(cells[1].strip(), java.util.Arrays.stream(cells).map(String::strip).toArray(String[]::new));
            }
            assertThat(rows.keySet()).containsExactly("attn_q,k,v", "attention", "attn_output", "ffn_gate,up", "ffn_down", "output", "the rest");
            // calls a pass: each layer's fused products once, the output once
            assertThat(Double.parseDouble(rows.get("attn_q,k,v")[3])).isEqualTo(layers);
            assertThat(Double.parseDouble(rows.get("ffn_down")[3])).isEqualTo(layers);
            assertThat(Double.parseDouble(rows.get("output")[3])).isEqualTo(1.0);
            assertThat(Double.parseDouble(rows.get("attn_output")[3])).isEqualTo(layers);
            assertThat(Double.parseDouble(rows.get("ffn_gate,up")[3])).isEqualTo(layers);
            // the columns agree with the heading: the rows' ms a token add up to its total (to the printed
            // digits), and each share is the row's ms over that sum, within what rounding each ms to
            // 0.001 and each share to 0.1 can move it
            java.util.regex.Matcher heading = java.util.regex.Pattern.compile(", ([0-9.]+) ms a token\\)").matcher(out.substring(at));
            assertThat(heading.find()).as(test + "'s heading").isTrue();
            double total = Double.parseDouble(heading.group(1)), sum = 0;
            for (String[] row : rows.values()) sum += Double.parseDouble(row[4]);
            assertThat(sum).as(test + ": the rows' ms a token").isCloseTo(total, org.assertj.core.data.Offset.offset(0.01));
            double rounding = 0.05 + 100 * (0.0005 + rows.size() * 0.0005) / (sum - rows.size() * 0.0005) + 1e-9;
            for (String[] row : rows.values())
                assertThat(Double.parseDouble(row[5].replace("%", ""))).as(test + ": " + row[1] + "'s share")
                        .isCloseTo(100 * Double.parseDouble(row[4]) / sum, org.assertj.core.data.Offset.offset(rounding));
            assertThat(Double.parseDouble(rows.get("attention")[3])).isEqualTo(layers);
            assertThat(Double.parseDouble(rows.get("attention")[5].replace("%", ""))).isPositive();
            assertThat(Double.parseDouble(rows.get("the rest")[5].replace("%", ""))).isPositive();
            assertThat(Double.parseDouble(rows.get("ffn_gate,up")[6])).as("GB/s").isPositive();
        }

        // in JSON, each result carries its breakdown: totals that add up to the repetitions' time
        var json = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "0", "-n", "4", "-t", "1", "-r", "2", "--breakdown", "--json");
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode results = new ObjectMapper().readTree(json.out());
        assertThat(results.size()).isEqualTo(1);
        JsonNode b = results.get(0).get("breakdown");
        assertThat(b.get("tokens").asLong()).isEqualTo(8);
        assertThat(b.get("passes").asLong()).isEqualTo(8);
        long samples = 0;
        for (JsonNode ns : results.get(0).get("samples_ns")) samples += ns.asLong();
        assertThat(b.get("ns").asLong()).isEqualTo(samples);
        List<String> parts = new ArrayList<>();
        for (JsonNode p : b.get("parts")) {
            parts.add(p.get("part").asText());
            // each timed part took some time; the rest (the total less the parts) is never negative, as it would be if a part were counted twice
            assertThat(p.get("ns").asLong()).as(p.get("part").asText()).isPositive().isLessThan(b.get("ns").asLong());
        }
        assertThat(parts).containsExactly("attn_q,k,v", "attention", "attn_output", "ffn_gate,up", "ffn_down", "output", "the rest");
        assertThat(b.get("parts").get(0).get("calls").asLong()).isEqualTo(8L * layers);
        assertThat(b.get("parts").get(0).get("weight_bytes").asLong()).isPositive();
        assertThat(json.err()).doesNotContain("where the time went");

        // CSV rows have no room for them: the tables go to stderr
        var csv = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "0", "-n", "4", "-t", "1", "-r", "1", "--breakdown", "-o", "csv");
        assertThat(csv.exitCode()).as(csv.err()).isZero();
        assertThat(csv.out()).doesNotContain("where the time went");
        assertThat(csv.err()).contains("tg4, ").contains("where the time went").contains("| output ");
    }

    @Test
    void tableNamesTestsAsLlamaBenchDoes() {
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "8", "-n", "4", "-pg", "8,4", "-d", "16", "-t", "1", "-r", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("| model ", " t/s |").contains(" pp8 @ d16 |", " tg4 @ d16 |", " pp8+tg4 @ d16 |")
                .contains(" MiB |", " K |");  // a 1 MiB, 293K-parameter model
    }

    /** The model's warm-up runs before the tests unless --no-warmup says not to; the same tests are measured either way. */
    @Test
    void warmUpCanBeSkipped() {
        String model = TestFiles.storiesModel().toString();
        for (String[] extra : new String[][] {{}, {"--no-warmup"}}) {
            List<String> args = new java.util.ArrayList<>(List.of("bench", "-m", model, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "-o", "csv"));
            args.addAll(List.of(extra));
            var r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.err()).isZero();
            String[] lines = r.out().strip().split("\n");
            assertThat(lines).as("%s", args).hasSize(3);
            assertThat(lines[1]).contains("\"8\",\"0\",\"0\"");
            assertThat(lines[2]).contains("\"0\",\"4\",\"0\"");
        }
        assertThat(Cli.run("bench", "--help").out()).contains("--no-warmup");
    }

    @Test
    void csvHasLlamaBenchsHeaderAndQuotedValues() {
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "8", "-n", "4", "-t", "1", "-r", "1", "-o", "csv");
        assertThat(r.exitCode()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(3);
        List<String> header = List.of(lines[0].split(","));
        assertThat(header).contains("model_type", "n_threads", "n_prompt", "n_gen", "n_depth", "avg_ts", "stddev_ts").doesNotContain("samples_ns");
        for (int i = 1; i < 3; i++) {
            String[] values = lines[i].split("\",\"");
            assertThat(values).hasSameSizeAs(header);
            assertThat(lines[i]).startsWith("\"").endsWith("\"");
        }
        assertThat(lines[1]).contains("\"8\",\"0\",\"0\"");  // n_prompt, n_gen, n_depth of pp8
    }

    /** --huge-pages is reported in each result (a field of ours beside llama-bench's), and off by default. */
    @Test
    void hugePagesAreReported() throws Exception {
        String model = TestFiles.storiesModel().toString();
        var r = Cli.run("bench", "-m", model, "-p", "0", "-n", "2", "-t", "1", "-r", "1", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(new ObjectMapper().readTree(r.out()).get(0).get("huge_pages").asBoolean()).isFalse();
        boolean linuxWithThp = java.nio.file.Files.isDirectory(java.nio.file.Path.of("/sys/kernel/mm/transparent_hugepage"));
        r = Cli.run("bench", "-m", model, "-p", "0", "-n", "2", "-t", "1", "-r", "1", "-o", "json", "--huge-pages");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(new ObjectMapper().readTree(r.out()).get(0).get("huge_pages").asBoolean()).isEqualTo(linuxWithThp);
        r = Cli.run("bench", "-m", model, "-p", "0", "-n", "2", "-t", "1", "-r", "1", "-o", "json");
        assertThat(new ObjectMapper().readTree(r.out()).get(0).get("huge_pages").asBoolean()).as("each command sets it anew").isFalse();
    }

    /** -ctk and -ctv take lists, as llama-bench's do: every combination runs, reported in type_k and type_v, and as table columns when not the default f16. */
    @Test
    void kvCacheTypesAreListsReportedAsLlamaBenchReportsThem() throws Exception {
        String model = TestFiles.storiesModel().toString();
        var r = Cli.run("bench", "-m", model, "-p", "0", "-n", "4", "-d", "8", "-t", "1", "-r", "1", "-ctk", "f32,f16", "-ctv", "f16", "-o", "jsonl");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> types = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) {
            JsonNode o = new ObjectMapper().readTree(line);
            types.add(o.get("type_k").asText() + "/" + o.get("type_v").asText());
        }
        assertThat(types).containsExactly("f32/f16", "f16/f16");
        r = Cli.run("bench", "-m", model, "-p", "0", "-n", "4", "-t", "1", "-r", "1", "-ctv", "f32");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("| type_k | type_v |").containsPattern("\\|\\s+f16 \\|\\s+f32 \\|\\s+tg4 \\|");
        r = Cli.run("bench", "-m", model, "-p", "0", "-n", "4", "-t", "1", "-r", "1", "-o", "json");
        assertThat(new ObjectMapper().readTree(r.out()).get(0).get("type_k").asText()).as("f16 by default, as llama-bench").isEqualTo("f16");
        r = Cli.run("bench", "-m", model, "-p", "0", "-n", "4", "-t", "1", "-r", "1");
        assertThat(r.out()).as("no type columns at the default").doesNotContain("type_k");
        r = Cli.run("bench", "-m", model, "-ctv", "q5_1");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("unsupported KV cache type 'q5_1'");
    }

    @Test
    void unknownFormatsAndEmptyRunsAreRefused() {
        var r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-o", "xml");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("-o takes md, csv, json or jsonl");
        r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-p", "0", "-n", "0");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("no test to run");
        r = Cli.run("bench", "-m", TestFiles.storiesModel().toString(), "-t", "0");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("-t must be at least 1");
    }
}
