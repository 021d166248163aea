package dev.genset.eval.task;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A task definition, read from YAML or JSON. The keys follow lm-evaluation-harness where it has
 * one (its names are accepted as synonyms, shown in brackets):
 *
 * <pre>
 * task: my_task                       # the name results are stored under
 * type: multiple_choice               # multiple_choice | generate_until | perplexity  [output_type]
 * dataset:                            # or a string: the file
 *   file: data.jsonl                  # relative to the task file; jsonl, json, csv, txt, or a benchmark's files
 *   format: jsonl                     # jsonl json csv txt mmlu ceval cmmlu hellaswag arc gsm8k (default: the extension)
 *   name: some_dataset                # instead of file: a dataset registered by name
 *   split: test
 *   fewshot_file: train.jsonl         # few-shot examples (default: fewshot_split next to file, else file itself)
 *   fewshot_split: train
 * docs: [{...}, ...]                  # instead of dataset: the documents inline
 * description: "..."                  # template put once before the few-shot examples
 * prompt: "Question: {{question}}\nAnswer:"              [doc_to_text]
 * choices: ["A", "B"] or "{{choices}}"                  [doc_to_choice]
 * target: "{{answer}}"                # a choice index or text, or the reference answer   [doc_to_target]
 * target_delimiter: " "
 * fewshot_delimiter: "\n\n"
 * num_fewshot: 0
 * fewshot_seed: 1234
 * fewshot_sampler: random             # random | first_n
 * fewshot_group_by: subject           # draw a document's examples from those with the same value of this field
 * generation: {until: ["\n\n"], max_tokens: 256}       [generation_kwargs: until, max_gen_toks]
 * filters:                            # answer extraction, one exact_match per filter
 *   - {name: strict-match, regex: "#### (\\-?[0-9\\.\\,]+)", select: first}
 * match: {ignore_case: true, ignore_punctuation: false, regexes_to_ignore: [","]}
 * text: "{{text}}"                    # perplexity: the text of a document
 * window: 2048                        # perplexity: tokens per window (default: the model's context)
 * stride: 2048                        # perplexity: new tokens scored per window (default: window)
 * </pre>
 */
public record TaskSpec(
        String name,
        TaskType type,
        Map<String, Object> dataset,
        List<Map<String, Object>> inlineDocs,
        Template description,
        Template prompt,
        List<Template> choiceList,
        Template choices,
        Template target,
        String targetDelimiter,
        String fewshotDelimiter,
        int numFewshot,
        long fewshotSeed,
        String fewshotSampler,
        String fewshotGroupBy,
        List<String> until,
        int maxTokens,
        List<Filter> filters,
        MatchOptions match,
        Template text,
        Integer window,
        Integer stride,
        Path baseDir,
        String resourceDir) {

    /** How exact_match compares an answer with the reference (Hugging Face evaluate's options). */
    public record MatchOptions(boolean ignoreCase, boolean ignorePunctuation, List<String> regexesToIgnore) {
        public static final MatchOptions DEFAULT = new MatchOptions(false, false, List.of());
    }

    private static final Set<String> KEYS = Set.of("task", "type", "output_type", "dataset", "dataset_path", "docs", "description",
            "prompt", "doc_to_text", "choices", "doc_to_choice", "target", "doc_to_target", "target_delimiter", "fewshot_delimiter",
            "num_fewshot", "fewshot_seed", "fewshot_sampler", "fewshot_group_by", "generation", "generation_kwargs", "filters",
            "filter_list", "match", "text", "window", "stride", "metadata", "tag", "group");

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper JSON = new ObjectMapper();

    /** Reads a task file (YAML, or JSON if it ends in .json); dataset files are relative to it. */
    public static TaskSpec load(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Map<String, Object> map = readMap(text, file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json"));
        String fallbackName = file.getFileName().toString().replaceFirst("\\.(ya?ml|json)$", "");
        return parse(map, fallbackName, file.toAbsolutePath().getParent(), null);
    }

    /** Reads a task definition from text; relative dataset files are resolved against {@code baseDir}. */
    public static TaskSpec parse(String text, boolean json, Path baseDir) {
        return parse(readMap(text, json), "task", baseDir, null);
    }

    /** The names of the tasks bundled with Genset. */
    public static List<String> bundledNames() {
        try (InputStream in = TaskSpec.class.getResourceAsStream("/eval/tasks/index.txt")) {
            if (in == null) return List.of();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A bundled task by name. */
    public static TaskSpec bundled(String name) {
        try (InputStream in = TaskSpec.class.getResourceAsStream("/eval/tasks/" + name + ".yaml")) {
            if (in == null) throw new IllegalArgumentException("no task named '" + name + "' (bundled: " + String.join(", ", bundledNames())
                    + "; or name a .yaml/.json task file, or FORMAT:PATH for a benchmark's files)");
            return parse(readMap(new String(in.readAllBytes(), StandardCharsets.UTF_8), false), name, null, "/eval/");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** This task reading its documents from {@code file} instead. */
    public TaskSpec withDatasetFile(Path file) {
        Map<String, Object> d = new LinkedHashMap<>(dataset == null ? Map.of() : dataset);
        d.put("file", file.toAbsolutePath().toString());
        d.remove("name");
        return new TaskSpec(name, type, d, null, description, prompt, choiceList, choices, target, targetDelimiter, fewshotDelimiter,
                numFewshot, fewshotSeed, fewshotSampler, fewshotGroupBy, until, maxTokens, filters, match, text, window, stride, null, null);
    }

    public TaskSpec withNumFewshot(int k) {
        if (k < 0) throw new IllegalArgumentException("the number of few-shot examples cannot be negative");
        return new TaskSpec(name, type, dataset, inlineDocs, description, prompt, choiceList, choices, target, targetDelimiter, fewshotDelimiter,
                k, fewshotSeed, fewshotSampler, fewshotGroupBy, until, maxTokens, filters, match, text, window, stride, baseDir, resourceDir);
    }

    public TaskSpec withName(String n) {
        return new TaskSpec(n, type, dataset, inlineDocs, description, prompt, choiceList, choices, target, targetDelimiter, fewshotDelimiter,
                numFewshot, fewshotSeed, fewshotSampler, fewshotGroupBy, until, maxTokens, filters, match, text, window, stride, baseDir, resourceDir);
    }

    static Map<String, Object> readMap(String text, boolean json) {
        try {
            Map<String, Object> m = (json ? JSON : YAML).readValue(text, new TypeReference<LinkedHashMap<String, Object>>() {});
            if (m == null) throw new IllegalArgumentException("the task definition is empty");
            return m;
        } catch (IOException e) {
            throw new IllegalArgumentException("not a valid task definition: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    @SuppressWarnings("unchecked")
    static TaskSpec parse(Map<String, Object> m, String fallbackName, Path baseDir, String resourceDir) {
        for (String k : m.keySet())
            if (!KEYS.contains(k)) throw new IllegalArgumentException("unknown key '" + k + "' in the task definition");
        String name = string(m.get("task"), fallbackName);
        Object typeValue = first(m, "type", "output_type");
        if (typeValue == null) throw new IllegalArgumentException("task " + name + " needs a type (multiple_choice, generate_until or perplexity)");
        TaskType type = TaskType.parse(typeValue.toString());

        Map<String, Object> dataset = null;
        Object ds = first(m, "dataset", "dataset_path");
        if (ds instanceof String s) dataset = new LinkedHashMap<>(Map.of("file", s));
        else if (ds instanceof Map<?, ?> dm) dataset = new LinkedHashMap<>((Map<String, Object>) dm);
        else if (ds != null) throw new IllegalArgumentException("dataset is a file name or a map {file, format, split, ...}");
        List<Map<String, Object>> docs = null;
        if (m.get("docs") instanceof List<?> l) {
            docs = new ArrayList<>();
            for (Object o : l) {
                if (!(o instanceof Map<?, ?> dm)) throw new IllegalArgumentException("docs holds objects");
                docs.add((Map<String, Object>) dm);
            }
        }
        if (dataset == null && docs == null) throw new IllegalArgumentException("task " + name + " needs a dataset or docs");

        Template prompt = template(first(m, "prompt", "doc_to_text"), type == TaskType.PERPLEXITY ? "" : null, "prompt");
        Template description = template(m.get("description"), "", "description");
        List<Template> choiceList = null;
        Template choices = null;
        Object ch = first(m, "choices", "doc_to_choice");
        if (ch instanceof List<?> l) choiceList = l.stream().map(o -> Template.of(String.valueOf(o))).toList();
        else if (ch != null) choices = Template.of(ch.toString());
        if (type == TaskType.MULTIPLE_CHOICE && ch == null) throw new IllegalArgumentException("a multiple_choice task needs choices");
        Template target = template(first(m, "target", "doc_to_target"), type == TaskType.PERPLEXITY ? "" : null, "target");

        List<String> until = List.of("\n\n");
        int maxTokens = 256;
        Object gen = first(m, "generation", "generation_kwargs");
        if (gen instanceof Map<?, ?> gm) {
            Object u = gm.get("until");
            if (u instanceof String s) until = List.of(s);
            else if (u instanceof List<?> l) until = l.stream().map(String::valueOf).toList();
            Object mt = gm.get("max_tokens") != null ? gm.get("max_tokens") : gm.get("max_gen_toks");
            if (mt instanceof Number n) maxTokens = n.intValue();
        }
        List<Filter> filters = new ArrayList<>();
        if (m.get("filters") instanceof List<?> l) for (Object o : l) filters.add(Filter.parse(o, filters.size()));
        else if (m.get("filter_list") instanceof List<?> l) for (Object o : l) filters.add(harnessFilter(o, filters.size()));
        if (filters.isEmpty()) filters.add(Filter.none());

        MatchOptions match = MatchOptions.DEFAULT;
        if (m.get("match") instanceof Map<?, ?> mm) {
            List<String> ignore = mm.get("regexes_to_ignore") instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
            match = new MatchOptions(Boolean.TRUE.equals(mm.get("ignore_case")), Boolean.TRUE.equals(mm.get("ignore_punctuation")), ignore);
        }
        return new TaskSpec(name, type, dataset, docs, description, prompt, choiceList, choices, target,
                string(m.get("target_delimiter"), " "), string(m.get("fewshot_delimiter"), "\n\n"),
                integer(m.get("num_fewshot"), 0), integer(m.get("fewshot_seed"), 1234),
                string(m.get("fewshot_sampler"), "random"), string(m.get("fewshot_group_by"), null),
                until, maxTokens, List.copyOf(filters), match, template(m.get("text"), "{{text}}", "text"),
                m.get("window") == null ? null : integer(m.get("window"), 0), m.get("stride") == null ? null : integer(m.get("stride"), 0),
                baseDir, resourceDir);
    }

    /** lm-evaluation-harness's filter_list: [{name, filter: [{function: regex, regex_pattern, group_select}, {function: take_first}]}]. */
    private static Filter harnessFilter(Object o, int index) {
        if (!(o instanceof Map<?, ?> fm)) throw new IllegalArgumentException("filter_list holds objects");
        String name = string(fm.get("name"), "filter" + index);
        if (fm.get("filter") instanceof List<?> steps)
            for (Object s : steps)
                if (s instanceof Map<?, ?> sm && "regex".equals(sm.get("function"))) {
                    Map<String, Object> spec = new LinkedHashMap<>();
                    spec.put("name", name);
                    spec.put("regex", sm.get("regex_pattern"));
                    spec.put("select", sm.get("group_select") instanceof Number n && n.intValue() < 0 ? "last" : "first");
                    if (sm.get("fallback") != null) spec.put("fallback", sm.get("fallback"));
                    return Filter.parse(spec, index);
                }
        return new Filter(name, null, 0, false, Filter.INVALID);
    }

    private static Object first(Map<String, Object> m, String a, String b) {
        return m.get(a) != null ? m.get(a) : m.get(b);
    }

    private static Template template(Object o, String dflt, String what) {
        if (o == null) {
            if (dflt == null) throw new IllegalArgumentException("the task needs a " + what + " template");
            return Template.of(dflt);
        }
        return Template.of(o.toString());
    }

    static String string(Object o, String dflt) {
        return o == null ? dflt : o.toString();
    }

    static int integer(Object o, int dflt) {
        if (o == null) return dflt;
        if (o instanceof Number n) return n.intValue();
        try {
            return Integer.parseInt(o.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + o + "' is not a number");
        }
    }
}
