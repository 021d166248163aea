package dev.genset.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Jinja subset, each expectation being what Jinja2 (as transformers configures it) renders. */
class JinjaTemplateTest {

    private static String render(String template, Object... kv) {
        var vars = new HashMap<String, Object>();
        for (int i = 0; i < kv.length; i += 2) vars.put((String) kv[i], kv[i + 1]);
        return JinjaTemplate.compile(template).render(vars);
    }

    @Test
    void whitespaceControl() {
        // trim_blocks eats the newline after a block tag, lstrip_blocks the indentation before it
        assertThat(render("{% if true %}\n  a\n  {% endif %}\nb")).isEqualTo("  a\nb");
        assertThat(render("x  {%- if true -%}  y  {%- endif -%}  z")).isEqualTo("xyz");
        assertThat(render("a\n{{ 'b' }}\nc")).isEqualTo("a\nb\nc"); // expressions keep their newline
        assertThat(render("a {# note #}\nb")).isEqualTo("a b");
        assertThat(render("a\n")).isEqualTo("a"); // keep_trailing_newline is off
        assertThat(render("a\n\n")).isEqualTo("a\n");
        assertThat(render("{% raw %}{{ x }}{% endraw %}")).isEqualTo("{{ x }}");
    }

    @Test
    void pythonValuesPrintAsPython() {
        assertThat(render("{{ x }}|{{ y }}|{{ z }}|{{ n }}|{{ f }}", "x", null, "y", true, "z", List.of("a", 1), "n", 3, "f", 2.5))
                .isEqualTo("None|True|['a', 1]|3|2.5");
        assertThat(render("{{ undefined_thing }}|{{ 1 / 2 }}|{{ 7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 4 / 2 }}"))
                .isEqualTo("|0.5|3|2|1024|2.0");
        assertThat(render("{{ {'a': 1, 'b': none} }}")).isEqualTo("{'a': 1, 'b': None}");
        assertThat(render("{{ 'a' ~ 1 ~ none }}")).isEqualTo("a1None");
    }

    @Test
    void stringMethods() {
        assertThat(render("{{ '  hi  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ ' a'.lstrip() }}|{{ 'a '.rstrip() }}"))
                .isEqualTo("hi|hi|a|a");
        assertThat(render("{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'a,b,,c'.split(',') }}"))
                .isEqualTo("True|True|['a', 'b', '', 'c']");
        assertThat(render("{{ ' a  b '.split() }}|{{ 'a</think>b</think>c'.split('</think>')[-1] }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}"))
                .isEqualTo("['a', 'b']|c|HIhi");
        assertThat(render("{{ 'a-b-c'.replace('-', '+') }}|{{ 'hello world'.title() }}|{{ '-'.join(['a', 'b']) }}|{{ 'abc'.find('c') }}"))
                .isEqualTo("a+b+c|Hello World|a-b|2");
        assertThat(render("{{ 'x{}y{name}'.format(1, name='z') }}|{{ '%s=%d' % ('n', 3) }}")).isEqualTo("x1yz|n=3");
    }

    @Test
    void slicingAndIndexing() {
        var l = List.of(1, 2, 3, 4);
        assertThat(render("{{ l[1:] }}|{{ l[:-1] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ l[-1] }}|{{ l[10] is defined }}", "l", l))
                .isEqualTo("[2, 3, 4]|[1, 2, 3]|[4, 3, 2, 1]|[1, 3]|4|False");
        assertThat(render("{{ 'hello'[1:3] }}|{{ 'hello'[-1] }}|{{ 'hello'[::-1] }}")).isEqualTo("el|o|olleh");
        assertThat(render("{{ m.a }}{{ m['b'] }}{{ m.get('c', 'd') }}{{ m.get('zz') }}", "m", Map.of("a", 1, "b", 2)))
                .isEqualTo("12dNone");
    }

    @Test
    void loopsAndNamespaces() {
        var l = List.of("a", "b", "c");
        assertThat(render("{% for x in l %}{{ loop.index }}{{ x }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %},{% endfor %}", "l", l))
                .isEqualTo("1aF,2b,3cL,");
        assertThat(render("{% for x in l %}{{ loop.index0 }}/{{ loop.length }}/{{ loop.revindex0 }} {% endfor %}", "l", l))
                .isEqualTo("0/3/2 1/3/1 2/3/0 ");
        // set inside a loop does not leak; a namespace carries state out
        assertThat(render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for x in l %}{% set n = n + 1 %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ n }}{{ ns.n }}", "l", l))
                .isEqualTo("03");
        assertThat(render("{% for x in l if x != 'b' %}{{ x }}{{ loop.index }}{% endfor %}", "l", l)).isEqualTo("a1c2");
        assertThat(render("{% for x in [] %}x{% else %}empty{% endfor %}")).isEqualTo("empty");
        assertThat(render("{% for x in l %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}", "l", l))
                .isEqualTo("a");
        assertThat(render("{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}", "m", new java.util.TreeMap<>(Map.of("a", 1, "b", 2))))
                .isEqualTo("a=1;b=2;");
        assertThat(render("{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}")).isEqualTo("012135");
        assertThat(render("{% for x in l %}{{ loop.cycle('o', 'e') }}{% endfor %}", "l", l)).isEqualTo("oeo");
    }

    @Test
    void testsAndConditionals() {
        assertThat(render("{{ x is defined }}{{ y is defined }}{{ y is none }}{{ x is string }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}", "x", "s", "y", null))
                .isEqualTo("TrueTrueTrueTrueTrueTrue");
        assertThat(render("{% if not z is defined %}a{% endif %}{{ 'b' if z is undefined else 'c' }}{{ 'x' if false }}")).isEqualTo("ab");
        assertThat(render("{{ 'ell' in 'hello' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 'z' not in 'abc' }}")).isEqualTo("TrueTrueTrueTrue");
        assertThat(render("{{ m is mapping }}{{ l is iterable }}{{ l is sequence }}{{ 1 is number }}{{ 1.5 is float }}", "m", Map.of(), "l", List.of()))
                .isEqualTo("TrueTrueTrueTrueTrue");
        assertThat(render("{{ a or 'd' }}|{{ a and 'x' }}|{{ not a }}|{{ 1 < 2 < 3 }}", "a", "")).isEqualTo("d||True|True");
    }

    @Test
    void filters() {
        var msgs = List.of(Map.of("role", "system", "content", " s "), Map.of("role", "user", "content", "u"));
        assertThat(render("{{ ' x '|trim }}|{{ l|length }}|{{ l|first }}|{{ l|last }}|{{ l|join(', ') }}|{{ l|reverse|list }}", "l", List.of("a", "b")))
                .isEqualTo("x|2|a|b|a, b|['b', 'a']");
        assertThat(render("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }}", "msgs", msgs)).isEqualTo("['u']");
        assertThat(render("{{ msgs|rejectattr('role', 'equalto', 'user')|list|length }}|{{ msgs[0].content|trim|upper }}", "msgs", msgs)).isEqualTo("1|S");
        assertThat(render("{{ x|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}")).isEqualTo("d|d|None");
        assertThat(render("{{ [3, 1, 2]|sort }}|{{ [1, 1, 2]|unique|list }}|{{ [1, 2]|sum }}|{{ ['b', 'a']|min }}|{{ '3'|int + 1 }}|{{ 2.567|round(2) }}"))
                .isEqualTo("[1, 2, 3]|[1, 2]|3|a|4|2.57");
        assertThat(render("{{ {'b': 1, 'a': 2}|dictsort }}|{{ 'a\nb'|indent(2) }}|{{ 'x'|capitalize }}{{ 'AB'|lower }}")).isEqualTo("[['a', 2], ['b', 1]]|a\n  b|Xab");
        assertThat(render("{% filter upper %}abc{% endfilter %}")).isEqualTo("ABC");
    }

    @Test
    void tojsonMatchesTransformers() {
        var v = new java.util.LinkedHashMap<String, Object>();
        v.put("name", "é<\"x\">");
        v.put("n", List.of(1, 2.5, true));
        v.put("none", null);
        assertThat(render("{{ v|tojson }}", "v", v)).isEqualTo("{\"name\": \"é<\\\"x\\\">\", \"n\": [1, 2.5, true], \"none\": null}");
        assertThat(render("{{ v|tojson(indent=2) }}", "v", Map.of("a", List.of(1))))
                .isEqualTo("{\n  \"a\": [\n    1\n  ]\n}");
        assertThat(render("{{ 'line\\nbreak'|tojson }}")).isEqualTo("\"line\\nbreak\"");
        assertThat(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}")).isEqualTo("{\"a\": 2, \"b\": 1}");
    }

    @Test
    void setBlocksAndMacros() {
        assertThat(render("{% set x %}a{{ 1 + 1 }}{% endset %}[{{ x }}]")).isEqualTo("[a2]");
        assertThat(render("{% macro greet(name, p='Hi') %}{{ p }} {{ name }}{% endmacro %}{{ greet('A') }}, {{ greet('B', p='Yo') }}"))
                .isEqualTo("Hi A, Yo B");
        assertThat(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}")).isEqualTo("12");
        assertThat(render("{% set d = dict(x=1) %}{{ d.x }}")).isEqualTo("1");
    }

    @Test
    void raiseExceptionCarriesTheTemplatesMessage() {
        assertThatThrownBy(() -> render("{% if x %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}", "x", true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Only user and assistant roles are supported!")
                .satisfies(e -> assertThat(((ChatTemplateException) e).kind()).isEqualTo(ChatTemplateException.Kind.RAISED));
    }

    @Test
    void errorsAreReportedWithLines() {
        assertThatThrownBy(() -> JinjaTemplate.compile("a\n{% if x %}\nb"))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("endif");
        assertThatThrownBy(() -> JinjaTemplate.compile("a\n\n{{ x + }}"))
                .hasMessageContaining("line 3")
                .satisfies(e -> assertThat(((ChatTemplateException) e).kind()).isEqualTo(ChatTemplateException.Kind.SYNTAX));
        assertThatThrownBy(() -> render("\n{{ x|nosuchfilter }}", "x", 1))
                .hasMessageContaining("nosuchfilter").hasMessageContaining("line 2");
        assertThatThrownBy(() -> render("{{ 'a' + 1 }}")).hasMessageContaining("unsupported operand");
        // transformers renders in an immutable sandbox
        assertThatThrownBy(() -> render("{{ l.append(1) }}", "l", List.of())).hasMessageContaining("unsafe");
        assertThatThrownBy(() -> render("{% set x = 1 %}{% set x.y = 2 %}")).hasMessageContaining("namespace");
    }

    @Test
    void strftimeNowUsesTheClock() {
        var t = JinjaTemplate.compile("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M %A %-d %B') }}")
                .withClock(() -> java.time.ZonedDateTime.of(2024, 7, 5, 14, 3, 0, 0, java.time.ZoneOffset.UTC));
        assertThat(t.render(Map.of())).isEqualTo("05 Jul 2024|2024-07-05 14:03 Friday 5 July");
    }
}
