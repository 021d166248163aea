package dev.genset.engine.chat;

import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A compiled Jinja template, rendered with the environment Hugging Face transformers uses for chat
 * templates: trim_blocks and lstrip_blocks on, no autoescaping, {@code tojson} without HTML escaping,
 * mutating list/dict methods refused, and the globals {@code raise_exception}, {@code strftime_now},
 * {@code namespace}, {@code range} and {@code dict}. Covers the subset of Jinja2 that published chat
 * templates use (no includes, inheritance or call blocks). Immutable and thread-safe.
 */
public final class JinjaTemplate {
    private final String source;
    private final List<JinjaAst.Node> tree;
    private final Supplier<ZonedDateTime> clock;

    private JinjaTemplate(String source, List<JinjaAst.Node> tree, Supplier<ZonedDateTime> clock) {
        this.source = source;
        this.tree = tree;
        this.clock = clock;
    }

    /** Parses the template; throws {@link ChatTemplateException} of kind SYNTAX if it is not valid. */
    public static JinjaTemplate compile(String source) {
        return new JinjaTemplate(source, JinjaParser.parse(Objects.requireNonNull(source, "source")), ZonedDateTime::now);
    }

    /** The same template with {@code strftime_now} reading this clock (for reproducible prompts and tests). */
    public JinjaTemplate withClock(Supplier<ZonedDateTime> clock) {
        return new JinjaTemplate(source, tree, Objects.requireNonNull(clock));
    }

    public String source() {
        return source;
    }

    /**
     * Renders with these variables. Java values map to Python ones: CharSequence to str, integral numbers
     * to int, Float/Double to float, Map to dict, Collection/array to list, {@link ChatMessage} to a
     * {@code {role, content}} dict, null to None.
     */
    public String render(Map<String, ?> variables) {
        try {
            return new JinjaInterpreter(clock).render(tree, variables);
        } catch (StackOverflowError e) {
            throw new ChatTemplateException(ChatTemplateException.Kind.RENDER, "template recursion too deep");
        }
    }
}
