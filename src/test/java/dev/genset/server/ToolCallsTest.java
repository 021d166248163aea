package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Finding tool calls in generated text, in the formats models write them. */
class ToolCallsTest {
    static final List<String> NAMES = List.of("get_weather", "get_time");

    static JsonNode args(ToolCalls.Call c) {
        return TestServer.parse(c.arguments());
    }

    @Test
    void hermesBlock() {
        var r = ToolCalls.parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>", NAMES);
        assertThat(r.content()).isNull();
        assertThat(r.calls()).hasSize(1);
        ToolCalls.Call c = r.calls().getFirst();
        assertThat(c.name()).isEqualTo("get_weather");
        assertThat(c.id()).startsWith("call_").hasSize(29);
        assertThat(args(c).get("city").asText()).isEqualTo("Paris");
        assertThat(args(c).get("days").asInt()).isEqualTo(2);
        assertThat(c.arguments()).isEqualTo("{\"city\":\"Paris\",\"days\":2}");
    }

    @Test
    void severalHermesBlocksWithTextBefore() {
        var r = ToolCalls.parse("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", NAMES);
        assertThat(r.content()).isEqualTo("Let me check.");
        assertThat(r.calls()).extracting(ToolCalls.Call::name).containsExactly("get_weather", "get_time");
        assertThat(r.calls().get(1).arguments()).isEqualTo("{}");
        assertThat(r.calls().get(0).id()).isNotEqualTo(r.calls().get(1).id());
    }

    @Test
    void unclosedLastHermesBlockCountsWhenItsJsonIsWhole() {
        var r = ToolCalls.parse("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}", NAMES);
        assertThat(r.calls()).hasSize(1);
        assertThat(args(r.calls().getFirst()).get("tz").asText()).isEqualTo("UTC");
    }

    @Test
    void llama3JsonWithParameters() {
        var r = ToolCalls.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}", NAMES);
        assertThat(r.calls()).hasSize(1);
        assertThat(r.calls().getFirst().name()).isEqualTo("get_weather");
        assertThat(args(r.calls().getFirst()).get("city").asText()).isEqualTo("Rome");
        var tagged = ToolCalls.parse("<|python_tag|>{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {}}", NAMES);
        assertThat(tagged.calls()).extracting(ToolCalls.Call::name).containsExactly("get_time");
        var two = ToolCalls.parse("{\"name\": \"get_time\", \"parameters\": {}}; {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Bern\"}}", NAMES);
        assertThat(two.calls()).extracting(ToolCalls.Call::name).containsExactly("get_time", "get_weather");
    }

    @Test
    void mistralToolCalls() {
        var r = ToolCalls.parse("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Nice\"}, \"id\": \"a1b2c3d4e\"}]", NAMES);
        assertThat(r.content()).isNull();
        assertThat(r.calls()).extracting(ToolCalls.Call::name).containsExactly("get_weather");
        assertThat(args(r.calls().getFirst()).get("city").asText()).isEqualTo("Nice");
        assertThat(ToolCalls.parse("[TOOL_CALLS] nothing", NAMES).calls()).isEmpty();
    }

    @Test
    void deepSeekR1Blocks() {
        String text = "<think>\nThe user wants weather.\n</think>\n\n"
                + "<\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>get_weather\n```json\n{\"city\": \"Lyon\"}\n```<\uff5ctool\u2581call\u2581end\uff5c>"
                + "\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>get_time\n```json\n{}\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c>";
        var r = ToolCalls.parse(text, NAMES);
        assertThat(r.calls()).extracting(ToolCalls.Call::name).containsExactly("get_weather", "get_time");
        assertThat(args(r.calls().getFirst()).get("city").asText()).isEqualTo("Lyon");
        assertThat(r.content()).isEqualTo("<think>\nThe user wants weather.\n</think>");
        String broken = text.replace("{\"city\": \"Lyon\"}", "{\"city\": ");
        assertThat(ToolCalls.parse(broken, NAMES).calls()).isEmpty();
    }

    @Test
    void genericFormats() {
        var one = ToolCalls.parse("  {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lima\"}}\n", NAMES);
        assertThat(one.calls()).extracting(ToolCalls.Call::name).containsExactly("get_weather");
        var several = ToolCalls.parse("{\"tool_calls\": [{\"name\": \"get_time\", \"arguments\": {}}, {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Kyiv\"}}]}", NAMES);
        assertThat(several.calls()).extracting(ToolCalls.Call::name).containsExactly("get_time", "get_weather");
        var wrapped = ToolCalls.parse("{\"tool_call\": {\"name\": \"get_time\", \"arguments\": {}}}", NAMES);
        assertThat(wrapped.calls()).hasSize(1);
        var response = ToolCalls.parse("{\"response\": \"It is sunny.\"}", NAMES);
        assertThat(response.calls()).isEmpty();
        assertThat(response.content()).isEqualTo("It is sunny.");
        // arguments as a JSON string, as OpenAI itself sends them
        var stringArgs = ToolCalls.parse("{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Quito\\\"}\"}", NAMES);
        assertThat(args(stringArgs.calls().getFirst()).get("city").asText()).isEqualTo("Quito");
        var fenced = ToolCalls.parse("```json\n{\"name\": \"get_time\", \"arguments\": {}}\n```", NAMES);
        assertThat(fenced.calls()).hasSize(1);
    }

    @Test
    void withoutParallelCallsOnlyTheFirstCounts() {
        var spec = new ToolCalls.Spec(List.of(), NAMES, List.of(), ToolCalls.Mode.AUTO, null, false);
        String two = "{\"tool_calls\": [{\"name\": \"get_time\", \"arguments\": {}}, {\"name\": \"get_weather\", \"arguments\": {}}]}";
        assertThat(ToolCalls.reply(two, spec).calls()).extracting(ToolCalls.Call::name).containsExactly("get_time");
        var parallel = new ToolCalls.Spec(List.of(), NAMES, List.of(), ToolCalls.Mode.AUTO, null, true);
        assertThat(ToolCalls.reply(two, parallel).calls()).hasSize(2);
    }

    @Test
    void malformedOutputStaysContent() {
        for (String text : List.of(
                "Once upon a time there was a cat.",
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par",          // cut off
                "<tool_call>\n{\"name\": \"launch_rockets\", \"arguments\": {}}\n</tool_call>",         // not a tool
                "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call> and then some text", // text after the call
                "{\"name\": \"get_weather\", \"arguments\": [1, 2]}",                                  // arguments not an object
                "{\"name\": \"get_weather\", \"arguments\": {}} trailing words",
                "{\"city\": \"Paris\"}",                                                              // JSON, but no call
                "{\"name\": \"get_weather\", \"arguments\": \"not json\"}",
                "[]",
                "{")) {
            var r = ToolCalls.parse(text, NAMES);
            assertThat(r.calls()).as(text).isEmpty();
            assertThat(r.content()).as(text).isEqualTo(text);
        }
    }

    @Test
    void streamPassesPlainTextAndHoldsWhatMayBeACall() {
        var s = new ToolCalls.Stream(false, NAMES, true);
        assertThat(s.push("Let me ")).isEqualTo("Let me ");
        assertThat(s.push("check <tool")).isEqualTo("check "); // "<tool" may begin a call
        assertThat(s.push("_call>\n{\"name\"")).isEmpty();
        assertThat(s.push(": \"get_time\", \"arguments\": {}}\n</tool_call>")).isEmpty();
        var r = ToolCalls.parse(s.text(), NAMES);
        assertThat(r.content()).isEqualTo("Let me check");
        assertThat(r.calls()).hasSize(1);

        var plain = new ToolCalls.Stream(false, NAMES, true);
        assertThat(plain.push("a <to")).isEqualTo("a ");
        assertThat(plain.push("y> b")).isEqualTo("<toy> b"); // it was not a call after all
        assertThat(plain.content(ToolCalls.parse(plain.text(), NAMES))).isEmpty();

        var json = new ToolCalls.Stream(false, NAMES, true);
        assertThat(json.push("\n ")).isEmpty();
        assertThat(json.push("{\"na")).isEmpty();
        assertThat(json.content(ToolCalls.parse(json.text(), NAMES))).isEqualTo("\n {\"na"); // no call: all of it is content

        var answer = new ToolCalls.Stream(false, NAMES, true);
        assertThat(answer.push("{\"response\": \"Hello!\"}")).isEmpty();
        assertThat(answer.content(ToolCalls.parse(answer.text(), NAMES))).isEqualTo("Hello!");

        var mistral = new ToolCalls.Stream(false, NAMES, true);
        assertThat(mistral.push("Sure. [TOOL")).isEqualTo("Sure. ");
        assertThat(mistral.push("_CALLS][{\"name\": \"get_time\", \"arguments\": {}}]")).isEmpty();
        assertThat(ToolCalls.parse(mistral.text(), NAMES).calls()).hasSize(1);

        var forced = new ToolCalls.Stream(true, NAMES, true);
        assertThat(forced.push("hello")).isEmpty();
        assertThat(forced.text()).isEqualTo("hello");
    }

    /** Streams {@code text} in pieces of {@code size} characters; returns the pieces of calls sent while it came, then those sent at the end. */
    static List<List<ToolCalls.Delta>> streamed(String text, int size, boolean parallel) {
        var s = new ToolCalls.Stream(false, NAMES, parallel);
        List<ToolCalls.Delta> during = new java.util.ArrayList<>();
        for (int i = 0; i < text.length(); i += size) {
            s.push(text.substring(i, Math.min(text.length(), i + size)));
            during.addAll(s.deltas());
        }
        ToolCalls.Reply reply = ToolCalls.parse(text, NAMES);
        if (!parallel && reply.calls().size() > 1) reply = new ToolCalls.Reply(reply.content(), List.of(reply.calls().getFirst()));
        return List.of(during, s.rest(reply));
    }

    /** The calls the pieces add up to, as name and arguments, checking each call starts once, before its arguments. */
    static List<List<String>> addUp(List<ToolCalls.Delta> pieces) {
        List<List<String>> calls = new java.util.ArrayList<>();
        for (ToolCalls.Delta d : pieces) {
            if (d.id() != null) {
                assertThat(d.index()).isEqualTo(calls.size());
                assertThat(d.id()).startsWith("call_");
                assertThat(d.arguments()).isEmpty();
                calls.add(new java.util.ArrayList<>(List.of(d.name(), "")));
            } else {
                assertThat(d.index()).isLessThan(calls.size());
                calls.get(d.index()).set(1, calls.get(d.index()).get(1) + d.arguments());
            }
        }
        return calls;
    }

    static List<List<String>> parsedCalls(String text) {
        return ToolCalls.parse(text, NAMES).calls().stream().map(c -> List.of(c.name(), c.arguments())).toList();
    }

    @Test
    void argumentsStreamAsTheyComeAndAddUpToTheParsedOnes() {
        String args = "{ \"city\" : \"Caf\\u00e9 \\\"Le D\u00f4me\\\" \\/ x\\n\", \"days\": 1.50, \"n\": 1E2, \"ok\": true,\n  \"tags\": [ \"a\", null, {\"k\": -0} ] }";
        for (String text : List.of(
                "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + args + "}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>",
                "{\"name\": \"get_weather\", \"arguments\": " + args + "}",
                "{\"name\": \"get_weather\", \"parameters\": " + args + "}",
                " {\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": " + args + "}, {\"name\": \"get_time\", \"arguments\": {}}]}",
                "[{\"id\": \"x\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": " + args + "}}]",
                "Sure. [TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " + args + "}]",
                "```json\n{\"name\": \"get_weather\", \"arguments\": " + args + "}\n```",
                "<|python_tag|>{\"name\": \"get_weather\", \"arguments\": " + args + "}; {\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}",
                "<\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>get_weather\n```json\n" + args
                        + "\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c>")) {
            List<List<String>> expected = parsedCalls(text);
            assertThat(expected).as(text).isNotEmpty();
            for (int size : new int[] {1, 3, 8, text.length()}) {
                List<List<ToolCalls.Delta>> pieces = streamed(text, size, true);
                assertThat(pieces.get(1)).as("all of it streamed while it came: " + text).isEmpty();
                assertThat(addUp(pieces.get(0))).as(text).isEqualTo(expected);
                if (size == 1) assertThat(pieces.get(0).stream().filter(d -> d.id() == null).count()).isGreaterThan(expected.size());
            }
        }
    }

    @Test
    void callsThatCannotBeFollowedAsTheyComeAreSentWholeAtTheEnd() {
        for (String text : List.of(
                "{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Oslo\\\"}\"}", // arguments as a string
                "{\"arguments\": {\"city\": \"Oslo\"}, \"name\": \"get_weather\"}", // arguments before the name
                "<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>")) {
            List<List<ToolCalls.Delta>> pieces = streamed(text, 2, true);
            assertThat(pieces.get(0)).as(text).isEmpty();
            assertThat(addUp(pieces.get(1))).as(text).isEqualTo(parsedCalls(text));
        }
        // the first call streams; the second, written before its name, comes whole at the end
        String mixed = "[{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}, {\"arguments\": {}, \"name\": \"get_weather\"}]";
        List<List<ToolCalls.Delta>> pieces = streamed(mixed, 2, true);
        assertThat(addUp(pieces.get(0))).containsExactly(List.of("get_time", "{\"zone\":\"UTC\"}"));
        List<ToolCalls.Delta> all = new java.util.ArrayList<>(pieces.get(0));
        all.addAll(pieces.get(1));
        assertThat(addUp(all)).isEqualTo(parsedCalls(mixed));
    }

    @Test
    void aForcedCallOfTheOnlyPossibleToolStreamsEvenWithItsArgumentsFirst() {
        String text = "{ \"arguments\" : { \"zone\" : \"UTC\" }, \"name\" : \"get_time\" }";
        var forced = new ToolCalls.Stream(true, List.of("get_time"), true);
        for (char c : text.toCharArray()) forced.push(String.valueOf(c));
        assertThat(addUp(forced.deltas())).isEqualTo(parsedCalls(text));
        assertThat(forced.rest(ToolCalls.parse(text, NAMES))).isEmpty();
        var either = new ToolCalls.Stream(true, NAMES, true); // two tools: the name decides, and it comes last
        either.push(text);
        assertThat(either.deltas()).isEmpty();
        assertThat(addUp(either.rest(ToolCalls.parse(text, NAMES)))).isEqualTo(parsedCalls(text));
    }

    @Test
    void withoutParallelCallsOnlyTheFirstStreams() {
        String text = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>";
        List<List<ToolCalls.Delta>> pieces = streamed(text, 1, false);
        assertThat(addUp(pieces.get(0))).containsExactly(List.of("get_time", "{\"zone\":\"UTC\"}"));
        assertThat(pieces.get(1)).isEmpty();
    }

    @Test
    void anUnknownToolOrNoCallStreamsNothing() {
        for (String text : List.of("{\"name\": \"get_stock\", \"arguments\": {\"sym\": \"X\"}}", "{\"response\": \"Hello!\"}", "[1, 2]")) {
            List<List<ToolCalls.Delta>> pieces = streamed(text, 1, true);
            assertThat(pieces.get(0)).as(text).isEmpty();
            assertThat(pieces.get(1)).as(text).isEmpty();
        }
    }

    @Test
    void aCallCutOffStaysStarted() {
        var s = new ToolCalls.Stream(true, NAMES, true);
        s.push("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Os");
        assertThat(addUp(s.deltas())).containsExactly(List.of("get_weather", "{\"city\":\"Os"));
        assertThat(s.streamedCalls()).isEqualTo(1);
        assertThat(s.streamedWhole()).isFalse();
        assertThat(s.rest(ToolCalls.parse(s.text(), NAMES))).isEmpty();
    }
}
