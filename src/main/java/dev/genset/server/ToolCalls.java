package dev.genset.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.batch.JsonSchema;
import dev.genset.engine.chat.ChatTools;

import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Function calling on /v1/chat/completions: reading a request's {@code tools} and {@code tool_choice},
 * the schema that forces a call when one is required, and finding calls in the generated text in the
 * formats models write them: Hermes/Qwen {@code <tool_call>{...}</tool_call>} blocks, Llama 3's bare
 * {@code {"name": ..., "parameters": {...}}}, Mistral's {@code [TOOL_CALLS][...]}, DeepSeek R1's
 * {@code <｜tool▁call▁begin｜>function<｜tool▁sep｜>name ```json ...```} blocks, and the generic
 * {@code {"name": ..., "arguments": {...}}} (or {@code {"tool_calls": [...]}}) that {@link ChatTools} asks for.
 */
final class ToolCalls {
    private ToolCalls() {}

    static final String OPEN = "<tool_call>", CLOSE = "</tool_call>", PYTHON_TAG = "<|python_tag|>", MISTRAL = "[TOOL_CALLS]",
            DS_CALLS = "<｜tool▁calls▁begin｜>", DS_CALL = "<｜tool▁call▁begin｜>",
            DS_SEP = "<｜tool▁sep｜>", DS_CALL_END = "<｜tool▁call▁end｜>", DS_CALLS_END = "<｜tool▁calls▁end｜>";
    /** Where a call may begin in the middle of a reply. */
    private static final List<String> MARKERS = List.of(OPEN, MISTRAL, DS_CALLS, DS_CALL);
    private static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9_.-]{1,64}$");
    private static final Set<String> TOOL_FIELDS = Set.of("type", "function");
    private static final Set<String> FUNCTION_FIELDS = Set.of("name", "description", "parameters", "strict");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper READER = new ObjectMapper(); // one value at a time: trailing text is read next

    enum Mode { NONE, AUTO, REQUIRED, NAMED }

    /**
     * A request's tools.
     *
     * @param tools      the tool objects as sent
     * @param names      their function names, in order
     * @param parameters their parameter schemas, compiled
     * @param mode       what {@code tool_choice} asks
     * @param function   the named function ({@link Mode#NAMED}), else null
     * @param parallel   {@code parallel_tool_calls}
     */
    record Spec(List<ObjectNode> tools, List<String> names, List<JsonSchema> parameters, Mode mode, String function, boolean parallel) {
        static final Spec NONE = new Spec(List.of(), List.of(), List.of(), Mode.NONE, null, true);

        /** Tools are offered and the model may (or must) call them. */
        boolean active() {
            return mode != Mode.NONE && !tools.isEmpty();
        }

        /** The output must be a call, so decoding is constrained to one. */
        boolean forced() {
            return mode == Mode.REQUIRED || mode == Mode.NAMED;
        }

        /** The tools as the template sees them, or null when none are offered. */
        ChatTools.Tools forTemplate() {
            if (!active()) return null;
            List<Map<String, Object>> maps = new ArrayList<>();
            for (ObjectNode t : tools) maps.add(asMap(t));
            return new ChatTools.Tools(maps, forced(), function, parallel);
        }

        /**
         * The schema a forced reply follows: {@code {"name": <the tool>, "arguments": <its parameters>}}
         * (or the key the model's template uses instead of "arguments"), for several tools one such
         * alternative each.
         */
        JsonSchema callSchema(String argumentsKey) {
            List<JsonSchema> alternatives = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                if (function != null && !function.equals(names.get(i))) continue;
                var props = new LinkedHashMap<String, JsonSchema>();
                props.put("name", JsonSchema.constant(Json.MAPPER.getNodeFactory().textNode(names.get(i))));
                props.put(argumentsKey, parameters.get(i));
                alternatives.add(JsonSchema.objectOf(props));
            }
            return alternatives.size() == 1 ? alternatives.getFirst() : JsonSchema.anyOf(alternatives);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(JsonNode n) {
        return Json.MAPPER.convertValue(n, LinkedHashMap.class);
    }

    // ---- the request ------------------------------------------------------------------------------

    /** Reads and checks {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}. */
    static Spec parse(Json j) {
        boolean parallel = j.bool("parallel_tool_calls", true);
        ArrayNode arr = j.array("tools");
        List<ObjectNode> tools = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<JsonSchema> params = new ArrayList<>();
        if (arr != null) {
            if (arr.size() > 128) throw ApiException.invalid("tools", "array_above_max_length",
                    "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an array with length " + arr.size() + " instead.");
            for (int i = 0; i < arr.size(); i++) {
                String path = "tools[" + i + "]";
                Json t = Json.element(arr.get(i), path, TOOL_FIELDS);
                String type = t.requiredString("type");
                if (!type.equals("function")) throw ApiException.invalid(path + ".type", "invalid_value",
                        "Invalid value: '" + type + "'. Supported values are: 'function'.");
                Json fn = t.object("function");
                if (fn == null) throw ApiException.invalid(path + ".function", "missing_required_parameter", "Missing required parameter: '" + path + ".function'.");
                fn.allowOnly(FUNCTION_FIELDS);
                String name = fn.requiredString("name");
                if (!NAME.matcher(name).matches()) throw ApiException.invalid(path + ".function.name", "invalid_value",
                        "Invalid '" + path + ".function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_.-]{1,64}$'.");
                if (names.contains(name)) throw ApiException.invalid(path + ".function.name", "duplicate_function_name",
                        "Invalid 'tools': the function name '" + name + "' is used by more than one tool.");
                fn.string("description", null);
                fn.bool("strict", false);
                Json p = fn.object("parameters");
                ObjectNode schema = p == null ? Json.MAPPER.createObjectNode() : p.node().deepCopy();
                if (p == null) schema.putObject("properties"); // no parameters: the arguments are {}
                JsonNode st = schema.get("type");
                if (st == null) schema.put("type", "object");
                else if (!(st.isTextual() && st.textValue().equals("object"))) throw ApiException.invalid(path + ".function.parameters", "invalid_function_parameters",
                        "Invalid schema for function '" + name + "': schema must be a JSON Schema of 'type: \"object\"', got 'type: " + st + "'.");
                try {
                    params.add(JsonSchema.compile(schema));
                } catch (IllegalArgumentException e) {
                    throw ApiException.invalid(path + ".function.parameters", "invalid_function_parameters",
                            "Invalid schema for function '" + name + "': " + e.getMessage());
                }
                tools.add(t.node());
                names.add(name);
            }
        }
        JsonNode choice = j.get("tool_choice");
        Mode mode = tools.isEmpty() ? Mode.NONE : Mode.AUTO;
        String function = null;
        if (choice != null) {
            if (choice.isTextual()) {
                mode = switch (choice.textValue()) {
                    case "none" -> Mode.NONE;
                    case "auto" -> mode;
                    case "required" -> Mode.REQUIRED;
                    default -> throw ApiException.invalid("tool_choice", "invalid_value",
                            "Invalid value: '" + choice.textValue() + "'. Supported values are: 'none', 'auto' and 'required'.");
                };
            } else if (choice.isObject()) {
                Json c = Json.of((ObjectNode) choice, "tool_choice").allowOnly(Set.of("type", "function"));
                String type = c.requiredString("type");
                if (!type.equals("function")) throw ApiException.invalid("tool_choice.type", "invalid_value",
                        "Invalid value: '" + type + "'. Supported values are: 'function'.");
                Json fn = c.object("function");
                if (fn == null) throw ApiException.invalid("tool_choice.function", "missing_required_parameter", "Missing required parameter: 'tool_choice.function'.");
                fn.allowOnly(Set.of("name"));
                function = fn.requiredString("name");
                mode = Mode.NAMED;
            } else {
                throw j.wrongType("tool_choice", "a string or an object", choice);
            }
            if (tools.isEmpty() && (mode == Mode.REQUIRED || mode == Mode.NAMED))
                throw ApiException.invalid("tool_choice", "invalid_value", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
            if (function != null && !names.contains(function))
                throw ApiException.invalid("tool_choice", "invalid_value",
                        "Invalid value for 'tool_choice': no function named '" + function + "' is among the 'tools'.");
        }
        if (tools.isEmpty()) return Spec.NONE;
        return new Spec(List.copyOf(tools), List.copyOf(names), List.copyOf(params), mode, function, parallel);
    }

    // ---- the reply --------------------------------------------------------------------------------

    /** A call found in the text; {@code arguments} is a JSON object as compact text. */
    record Call(String id, String name, String arguments) {}

    /** The reply: the text before the calls (null if none or blank) and the calls (empty: the text is plain content). */
    record Reply(String content, List<Call> calls) {
        static Reply plain(String text) {
            return new Reply(text, List.of());
        }
    }

    /** The reply to a request with these tools: its calls, at most one unless parallel calls are allowed. */
    static Reply reply(String text, Spec spec) {
        Reply r = parse(text, spec.names());
        if (!spec.parallel() && r.calls().size() > 1) r = new Reply(r.content(), List.of(r.calls().getFirst()));
        return r;
    }

    /** Finds the calls in generated text; anything malformed, or naming an unknown tool, leaves it plain content. */
    static Reply parse(String text, List<String> names) {
        Reply r = parseOrNull(text, names);
        return r != null ? r : Reply.plain(text);
    }

    private static Reply parseOrNull(String text, List<String> names) {
        int open = text.indexOf(OPEN);
        if (open >= 0) return hermes(text, open, names);
        int ds = text.indexOf(DS_CALL);
        if (ds >= 0) return deepSeek(text, names);
        int mistral = text.indexOf(MISTRAL);
        if (mistral >= 0) {
            Reply r = parseOrNull(text.substring(mistral + MISTRAL.length()), names);
            if (r == null || r.calls().isEmpty()) return null;
            String before = text.substring(0, mistral).strip();
            return new Reply(before.isEmpty() ? null : before, r.calls());
        }
        String t = text.strip();
        if (t.startsWith(PYTHON_TAG)) t = t.substring(PYTHON_TAG.length()).strip();
        if (t.startsWith("```")) { // a fenced block around the JSON
            int nl = t.indexOf('\n');
            if (nl < 0 || !t.endsWith("```") || t.length() < nl + 4) return null;
            t = t.substring(nl + 1, t.length() - 3).strip();
        }
        if (!t.startsWith("{") && !t.startsWith("[")) return null;
        List<JsonNode> values = jsonValues(t);
        if (values == null) return null;
        List<Call> calls = new ArrayList<>();
        for (JsonNode v : values) {
            if (values.size() == 1 && v.isObject() && v.size() == 1 && v.path("response").isTextual()) // the generic format's answer
                return Reply.plain(v.get("response").textValue());
            if (!addCalls(v, calls, names)) return null;
        }
        return calls.isEmpty() ? null : new Reply(null, calls);
    }

    /** Hermes/Qwen blocks; the text before the first is content. An unclosed last block counts if its JSON is whole. */
    private static Reply hermes(String text, int open, List<String> names) {
        List<Call> calls = new ArrayList<>();
        int at = open;
        while (at >= 0) {
            int start = at + OPEN.length();
            int end = text.indexOf(CLOSE, start);
            String body = text.substring(start, end < 0 ? text.length() : end).strip();
            List<JsonNode> values = jsonValues(body);
            if (values == null || values.size() != 1 || !addCalls(values.getFirst(), calls, names)) return null;
            if (end < 0) break;
            int next = text.indexOf(OPEN, end + CLOSE.length());
            if (next < 0 && !text.substring(end + CLOSE.length()).isBlank()) return null;
            at = next;
        }
        String before = text.substring(0, open).strip();
        return new Reply(before.isEmpty() ? null : before, calls);
    }

    /** DeepSeek R1 blocks: {@code <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>}. */
    private static Reply deepSeek(String text, List<String> names) {
        int first = text.indexOf(DS_CALLS);
        int firstCall = text.indexOf(DS_CALL);
        int contentEnd = first >= 0 && first < firstCall ? first : firstCall;
        List<Call> calls = new ArrayList<>();
        int at = firstCall;
        int last = at;
        while (at >= 0) {
            int sep = text.indexOf(DS_SEP, at);
            int end = text.indexOf(DS_CALL_END, at);
            if (sep < 0 || (end >= 0 && end < sep)) return null;
            String rest = text.substring(sep + DS_SEP.length(), end < 0 ? text.length() : end);
            int nl = rest.indexOf('\n');
            if (nl < 0) return null;
            String name = rest.substring(0, nl).strip();
            String args = rest.substring(nl + 1).strip();
            if (args.startsWith("```")) {
                int bodyStart = args.indexOf('\n');
                if (bodyStart < 0) return null;
                args = args.substring(bodyStart + 1);
                if (args.strip().endsWith("```")) args = args.strip().substring(0, args.strip().length() - 3);
            }
            var call = Json.MAPPER.createObjectNode().put("name", name);
            List<JsonNode> parsed = jsonValues(args.strip());
            if (parsed == null || parsed.size() != 1) return null;
            call.set("arguments", parsed.getFirst());
            if (!addCalls(call, calls, names)) return null;
            if (end < 0) break;
            last = end + DS_CALL_END.length();
            at = text.indexOf(DS_CALL, last);
        }
        String after = text.substring(Math.min(last, text.length())).replace(DS_CALLS_END, "");
        if (at < 0 && !after.isBlank()) return null;
        String before = text.substring(0, contentEnd).strip();
        return new Reply(before.isEmpty() ? null : before, calls);
    }

    /** Adds the call(s) a JSON value spells; false if it spells none or a malformed one. */
    private static boolean addCalls(JsonNode v, List<Call> calls, List<String> names) {
        if (v.isArray()) {
            if (v.isEmpty()) return false;
            for (JsonNode e : v) if (!addCalls(e, calls, names)) return false;
            return true;
        }
        if (!v.isObject()) return false;
        if (v.size() == 1 && v.has("tool_calls")) return v.get("tool_calls").isArray() && addCalls(v.get("tool_calls"), calls, names);
        if (v.size() == 1 && v.has("tool_call")) return addCalls(v.get("tool_call"), calls, names);
        JsonNode fn = v.has("function") && v.get("function").isObject() ? v.get("function") : v;
        JsonNode name = fn.get("name");
        if (name == null || !name.isTextual() || !names.contains(name.textValue())) return false;
        JsonNode args = fn.has("arguments") ? fn.get("arguments") : fn.get("parameters");
        if (args == null || args.isNull()) args = Json.MAPPER.createObjectNode();
        if (args.isTextual()) {
            List<JsonNode> parsed = jsonValues(args.textValue().strip());
            if (parsed == null || parsed.size() != 1) return false;
            args = parsed.getFirst();
        }
        if (!args.isObject()) return false;
        calls.add(new Call(callId(), name.textValue(), Json.write(args)));
        return true;
    }

    /** The JSON values of the text, one after another (separated by whitespace, ';' or ','), or null if it is not that. */
    static List<JsonNode> jsonValues(String text) {
        List<JsonNode> out = new ArrayList<>();
        int at = 0;
        while (true) {
            while (at < text.length() && (Character.isWhitespace(text.charAt(at)) || (!out.isEmpty() && (text.charAt(at) == ';' || text.charAt(at) == ',')))) at++;
            if (at >= text.length()) return out.isEmpty() ? null : out;
            try (JsonParser p = READER.getFactory().createParser(text.substring(at))) {
                if (p.nextToken() == null) return null;
                JsonNode v = READER.readTree(p);
                if (v == null) return null;
                out.add(v);
                at += (int) p.currentLocation().getCharOffset();
            } catch (Exception e) {
                return null;
            }
            if (out.size() > 128) return null;
        }
    }

    static String callId() {
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var sb = new StringBuilder("call_");
        for (int i = 0; i < 24; i++) sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        return sb.toString();
    }

    /** OpenAI's {@code tool_calls} array of a message. */
    static ArrayNode json(List<Call> calls) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (Call c : calls) {
            ObjectNode o = a.addObject();
            o.put("id", c.id()).put("type", "function");
            o.putObject("function").put("name", c.name()).put("arguments", c.arguments());
        }
        return a;
    }

    // ---- streaming -------------------------------------------------------------------------------

    /** A piece of a streamed call: its start (with {@code id} and {@code name}, arguments "") or a fragment of its arguments. */
    record Delta(int index, String id, String name, String arguments) {}

    /**
     * One streamed choice's text while tools are offered: text that cannot be part of a call is passed on
     * at once; from where a call may begin ({@code <tool_call>}, or a reply that opens with JSON) the
     * text is held, and read as it comes by a {@link Scanner} that streams each call's arguments while
     * they are generated. At the end the held text becomes what is left of the calls or, if it is no
     * call, content.
     */
    static final class Stream {
        private final boolean forced;
        private final Scanner scanner;
        private final StringBuilder all = new StringBuilder(), held = new StringBuilder();
        private final List<Delta> deltas = new ArrayList<>();
        private final List<StringBuilder> streamed = new ArrayList<>(); // the arguments sent of each call started
        private boolean capturing, started;
        private int sent, scanned;

        Stream(Spec spec) {
            this(spec.forced(), spec.function() != null ? List.of(spec.function()) : spec.names(), spec.parallel());
        }

        /** A forced reply's constraint makes it a call of one of {@code names}, in any key order: with one name, arguments may come first. */
        Stream(boolean forced, List<String> names, boolean parallel) {
            this.forced = forced;
            this.capturing = forced;
            this.scanner = new Scanner(names, parallel ? Integer.MAX_VALUE : 1, forced && names.size() == 1 ? names.getFirst() : null);
        }

        /** Adds generated text; returns the part to send as content now ("" for none). Calls streamed meanwhile are in {@link #deltas}. */
        String push(String text) {
            String out = pass(text);
            sent += out.length();
            if (capturing) { // held only grows once capturing
                scanner.feed(held, scanned);
                scanned = held.length();
                for (Delta d : scanner.drain()) {
                    if (d.id() != null) streamed.add(new StringBuilder());
                    else streamed.get(d.index()).append(d.arguments());
                    deltas.add(d);
                }
            }
            return out;
        }

        /** The pieces of calls to send since the last time this was asked. */
        List<Delta> deltas() {
            List<Delta> out = List.copyOf(deltas);
            deltas.clear();
            return out;
        }

        private String pass(String text) {
            all.append(text);
            held.append(text);
            if (capturing) return "";
            if (!started) {
                String h = held.toString().stripLeading();
                if (h.isEmpty()) return "";
                if (h.startsWith("{") || h.startsWith("[") || h.startsWith("```") || h.startsWith(PYTHON_TAG)) {
                    capturing = true;
                    return "";
                }
                if (PYTHON_TAG.startsWith(h) || "```".startsWith(h)) return ""; // may still become one
                started = true;
            }
            int open = -1;
            for (String m : MARKERS) {
                int i = held.indexOf(m);
                if (i >= 0 && (open < 0 || i < open)) open = i;
            }
            if (open >= 0) {
                String out = held.substring(0, open);
                held.delete(0, open);
                capturing = true;
                return out;
            }
            int keep = 0; // the longest end of the text that may begin a marker
            for (String m : MARKERS) {
                for (int k = Math.min(m.length() - 1, held.length()); k > keep; k--) {
                    if (m.startsWith(held.substring(held.length() - k))) {
                        keep = k;
                        break;
                    }
                }
            }
            String out = held.substring(0, held.length() - keep);
            held.delete(0, held.length() - keep);
            return out;
        }

        /** The whole text so far. */
        String text() {
            return all.toString();
        }

        /** How many calls were started while streaming. */
        int streamedCalls() {
            return streamed.size();
        }

        /** Whether every call started while streaming got its arguments whole. */
        boolean streamedWhole() {
            return scanner.whole();
        }

        /**
         * The pieces still to send at the end so the stream adds up to the reply's calls: the calls not
         * started while streaming, whole, and the end of any whose arguments were sent only in part.
         */
        List<Delta> rest(Reply reply) {
            List<Delta> out = new ArrayList<>();
            for (int k = 0; k < reply.calls().size(); k++) {
                Call c = reply.calls().get(k);
                if (k < streamed.size()) {
                    String sentArgs = streamed.get(k).toString();
                    if (c.arguments().length() > sentArgs.length() && c.arguments().startsWith(sentArgs))
                        out.add(new Delta(k, null, null, c.arguments().substring(sentArgs.length())));
                } else {
                    out.add(new Delta(k, c.id(), c.name(), ""));
                    out.add(new Delta(k, null, null, c.arguments()));
                }
            }
            return out;
        }

        /**
         * What to send as content at the end when the reply has no call: the text held back, or, when all
         * of it was held, the reply's content (the answer of a generic {@code {"response": ...}}).
         */
        String content(Reply reply) {
            return sent == 0 && reply.content() != null ? reply.content() : held.toString();
        }

        boolean forced() {
            return forced;
        }
    }

    /**
     * Reads the text of calls as it is generated and reports each call as soon as its name is known and
     * its arguments object opens, then the arguments as they come, in the compact form {@link #parse}
     * gives them (whitespace dropped, strings escaped and numbers written as Jackson writes them) so the
     * fragments add up to the parsed arguments. It follows the formats' markers and the shapes
     * {@link #addCalls} accepts; at a call it cannot follow as it comes (an unknown name, arguments as
     * a string, or before the name unless only one name is possible) it stops, leaving the rest to the
     * end of the reply.
     */
    static final class Scanner {
        private static final List<String> MARKS = List.of(OPEN, CLOSE, PYTHON_TAG, MISTRAL, DS_CALLS, DS_CALL, DS_SEP, DS_CALL_END, DS_CALLS_END, "```");

        /** What a JSON value is to the calls: may hold calls, is a call, a call's name, its arguments, or none of these. */
        private enum Role { CALLS, CALL, NAME, ARGS, OTHER }

        private enum Lex { NONE, STRING, ESCAPE, UNICODE, SCALAR }

        private static final class Frame {
            final boolean object;
            final Role role;
            final int callsAtOpen;
            String key, name; // an object's key whose value comes next (null: a key comes next); a call's name

            Frame(boolean object, Role role, int callsAtOpen) {
                this.object = object;
                this.role = role;
                this.callsAtOpen = callsAtOpen;
            }
        }

        private final List<String> names;
        private final int limit;
        private final String sole; // the name a call must have (a forced reply with one tool), else null
        private final ArrayDeque<Frame> stack = new ArrayDeque<>();
        private final List<Delta> out = new ArrayList<>();
        private final StringBuilder fragment = new StringBuilder(), pending = new StringBuilder(), token = new StringBuilder(), hex = new StringBuilder();
        private StringBuilder dsLine; // DeepSeek: reading the name line after <｜tool▁sep｜>
        private String dsName;        // DeepSeek: the call whose arguments are the next JSON value
        private boolean following = true;
        private int calls;
        private int argsDepth = -1;   // the depth of the arguments object being streamed, -1 when none
        private Lex lex = Lex.NONE;
        private Role valueRole;       // of the string or scalar being read
        private boolean readingKey;

        Scanner(List<String> names, int limit, String sole) {
            this.names = names;
            this.limit = limit;
            this.sole = sole;
        }

        /** Reads {@code text} from {@code from} on. */
        void feed(CharSequence text, int from) {
            for (int i = from; i < text.length() && (following || argsDepth >= 0); i++) step(text.charAt(i));
            flush();
        }

        /** The calls' starts and argument fragments read since the last drain. */
        List<Delta> drain() {
            List<Delta> d = List.copyOf(out);
            out.clear();
            return d;
        }

        /** Whether the last call started has its arguments whole (true if none started). */
        boolean whole() {
            return argsDepth < 0;
        }

        private void step(char c) {
            switch (lex) {
                case STRING -> {
                    string(c);
                    return;
                }
                case ESCAPE -> {
                    escape(c);
                    return;
                }
                case UNICODE -> {
                    hex.append(c);
                    if (hex.length() == 4) {
                        lex = Lex.STRING;
                        try {
                            character((char) Integer.parseInt(hex.toString(), 16));
                        } catch (NumberFormatException e) {
                            following = false; // not JSON
                        }
                    }
                    return;
                }
                case SCALAR -> {
                    if (Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.') {
                        token.append(c);
                        return;
                    }
                    endScalar();
                }
                case NONE -> {}
            }
            if (stack.isEmpty()) outside(c);
            else structure(c);
        }

        /** Between JSON values: the formats' markers, fences, separators, and DeepSeek's name lines. */
        private void outside(char c) {
            if (dsLine != null) {
                if (c == '\n') {
                    dsName = dsLine.toString().strip();
                    dsLine = null;
                } else dsLine.append(c);
                return;
            }
            pending.append(c);
            String p = pending.toString();
            boolean prefix = false;
            for (String m : MARKS) {
                if (m.equals(p)) {
                    pending.setLength(0);
                    if (m.equals(DS_SEP)) dsLine = new StringBuilder();
                    else if (m.startsWith("<｜")) dsName = null;
                    return;
                }
                prefix |= m.startsWith(p);
            }
            if (prefix) return;
            pending.setLength(0);
            if (p.charAt(0) == '{' || p.charAt(0) == '[') structure(p.charAt(0)); // anything else between values is skipped
            for (int i = 1; i < p.length(); i++) step(p.charAt(i));
        }

        private void structure(char c) {
            if (Character.isWhitespace(c)) return;
            Frame f = stack.peek();
            switch (c) {
                case '{', '[' -> open(c == '{', role());
                case '}', ']' -> close();
                case ':' -> emit(":");
                case ',' -> {
                    if (f != null && f.object) f.key = null;
                    emit(",");
                }
                case '"' -> {
                    readingKey = f != null && f.object && f.key == null;
                    valueRole = readingKey ? Role.OTHER : role();
                    if (valueRole == Role.ARGS) following = false; // arguments as a string: parsed at the end
                    token.setLength(0);
                    lex = Lex.STRING;
                    emit("\"");
                }
                default -> {
                    valueRole = role();
                    if (valueRole == Role.ARGS) following = false;
                    token.setLength(0);
                    token.append(c);
                    lex = Lex.SCALAR;
                }
            }
        }

        /** The role of the value that begins next. */
        private Role role() {
            if (argsDepth >= 0) return Role.OTHER;
            Frame f = stack.peek();
            if (f == null) return dsName != null ? Role.ARGS : Role.CALLS;
            if (f.role == Role.CALLS) return Role.CALLS;
            if (f.role != Role.CALL || f.key == null) return Role.OTHER;
            return switch (f.key) {
                case "name" -> Role.NAME;
                case "arguments", "parameters" -> Role.ARGS;
                case "function" -> Role.CALL;
                case "tool_calls", "tool_call" -> Role.CALLS;
                default -> Role.OTHER;
            };
        }

        private void open(boolean object, Role role) {
            if (role == Role.ARGS) {
                String name = stack.isEmpty() ? dsName : stack.peek().name;
                if (name == null && stack.size() == 1) name = sole; // arguments before the name, which can only be this one
                if (object && name != null && names.contains(name) && calls < limit) {
                    flush();
                    out.add(new Delta(calls, callId(), name, ""));
                    calls++;
                    stack.push(new Frame(true, Role.OTHER, calls));
                    argsDepth = stack.size();
                    emit("{");
                    return;
                }
                following = false;
            }
            Role r = switch (role) {
                case CALLS -> object ? Role.CALL : Role.CALLS;
                case CALL -> object ? Role.CALL : Role.OTHER;
                default -> Role.OTHER;
            };
            stack.push(new Frame(object, r, calls));
            emit(object ? "{" : "[");
        }

        private void close() {
            Frame f = stack.poll();
            if (f == null) return;
            emit(f.object ? "}" : "]");
            if (argsDepth > stack.size()) { // the arguments are whole
                flush();
                argsDepth = -1;
            } else if (f.role == Role.CALL && calls == f.callsAtOpen) {
                following = false; // a call (or what looked like one) that was not streamed
            }
        }

        private void string(char c) {
            if (c == '"') {
                lex = Lex.NONE;
                emit("\"");
                Frame f = stack.peek();
                if (f != null && readingKey) f.key = token.toString();
                else if (f != null && valueRole == Role.NAME) f.name = token.toString();
            } else if (c == '\\') lex = Lex.ESCAPE;
            else character(c);
        }

        private void escape(char c) {
            lex = Lex.STRING;
            switch (c) {
                case 'u' -> {
                    lex = Lex.UNICODE;
                    hex.setLength(0);
                }
                case 'n' -> character('\n');
                case 't' -> character('\t');
                case 'r' -> character('\r');
                case 'b' -> character('\b');
                case 'f' -> character('\f');
                case '"', '\\', '/' -> character(c);
                default -> following = false; // not JSON
            }
        }

        /** A character of a string, written back as Jackson escapes it. */
        private void character(char c) {
            token.append(c);
            if (argsDepth >= 0) fragment.append(JsonStringEncoder.getInstance().quoteAsString(String.valueOf(c)));
        }

        private void endScalar() {
            lex = Lex.NONE;
            String t = token.toString();
            if (argsDepth < 0) return;
            try { // as the parsed arguments write it: 1.50 as 1.5, 1E2 as 100.0
                JsonNode n = READER.readTree(t);
                emit(n != null && n.isValueNode() ? Json.write(n) : t);
            } catch (Exception e) {
                emit(t);
            }
        }

        private void emit(String s) {
            if (argsDepth >= 0) fragment.append(s);
        }

        private void flush() {
            if (fragment.isEmpty()) return;
            out.add(new Delta(calls - 1, null, null, fragment.toString()));
            fragment.setLength(0);
        }
    }
}
