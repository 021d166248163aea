package dev.genset.eval.task;

import dev.genset.engine.chat.ChatTemplateException;
import dev.genset.engine.chat.JinjaTemplate;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A prompt template over one document's fields, in Jinja as lm-evaluation-harness writes them:
 * {@code {{question}}}, {@code {{choices[0]}}}, {@code {{question.strip()}}},
 * {@code {{choices.label.index(answerKey)}}}. A template that is nothing but a field path
 * ({@code {{choices.text}}}) can also give the field's value itself (a list of choices, a number).
 */
public final class Template {
    private static final Pattern PATH = Pattern.compile("^\\{\\{\\s*([A-Za-z_]\\w*(?:\\.[A-Za-z_]\\w*|\\[\\d+])*)\\s*}}$");
    private static final Pattern STEP = Pattern.compile("\\.([A-Za-z_]\\w*)|\\[(\\d+)]|^([A-Za-z_]\\w*)");

    private final String source;
    private final JinjaTemplate jinja;
    private final String path; // the field path, if the template is only that

    private Template(String source) {
        this.source = source;
        try {
            // Jinja drops a template's final newline unless told not to; lm-evaluation-harness keeps it,
            // so an empty expression after the text keeps the newline from being the last thing.
            this.jinja = JinjaTemplate.compile(source + "{{ '' }}");
        } catch (ChatTemplateException e) {
            throw new IllegalArgumentException("template " + quote(source) + ": " + e.getMessage(), e);
        }
        Matcher m = PATH.matcher(source.strip());
        this.path = m.matches() ? m.group(1) : null;
    }

    public static Template of(String source) {
        return new Template(source);
    }

    public String source() {
        return source;
    }

    /** The text for this document. */
    public String render(Map<String, Object> doc) {
        try {
            return jinja.render(doc);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("template " + quote(source) + ": " + e.getMessage(), e);
        }
    }

    /** The field's own value if the template is only a field path, else the rendered text. */
    public Object value(Map<String, Object> doc) {
        if (path != null) {
            Object v = resolve(doc, path);
            if (v != null) return v;
        }
        return render(doc);
    }

    static Object resolve(Object root, String path) {
        Matcher m = STEP.matcher(path);
        Object cur = root;
        while (m.find()) {
            String key = m.group(1) != null ? m.group(1) : m.group(3);
            if (key != null) {
                if (!(cur instanceof Map<?, ?> map)) return null;
                cur = map.get(key);
            } else {
                int i = Integer.parseInt(m.group(2));
                if (!(cur instanceof List<?> list) || i >= list.size()) return null;
                cur = list.get(i);
            }
        }
        return cur;
    }

    private static String quote(String s) {
        String one = s.replace("\n", "\\n");
        return "'" + (one.length() > 60 ? one.substring(0, 57) + "..." : one) + "'";
    }

    @Override
    public String toString() {
        return source;
    }
}
