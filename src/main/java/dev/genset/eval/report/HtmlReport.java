package dev.genset.eval.report;

import dev.genset.eval.Metric;
import dev.genset.eval.TaskResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Self-contained HTML pages (inline CSS and SVG charts, no scripts, nothing fetched) for a run and for the leaderboard. */
public final class HtmlReport {
    private HtmlReport() {}

    /** A bar of a chart: label, value, standard error (may be null). */
    record Bar(String label, double value, Double stderr) {}

    public static String run(RunResult run) {
        StringBuilder body = new StringBuilder();
        body.append("<h1>Evaluation of ").append(esc(run.model())).append("</h1>\n");
        body.append("<p class=meta>").append(esc(run.created()));
        if (run.source() != null) body.append(" &middot; ").append(esc(run.source()));
        if (run.options() != null && !run.options().isEmpty()) body.append(" &middot; ").append(esc(run.options().toString()));
        body.append(" &middot; run ").append(esc(run.id())).append("</p>\n");
        List<Bar> scores = new ArrayList<>();
        for (TaskResult t : run.tasks()) {
            String primary = RunResult.primaryMetric(t);
            Metric m = t.metrics().get(primary);
            if (m != null && RunResult.higherIsBetter(primary)) scores.add(new Bar(t.task() + " · " + primary, m.value(), m.stderr()));
        }
        if (!scores.isEmpty()) body.append("<h2>Scores</h2>\n").append(barChart(scores, 1.0, "score (± standard error)"));
        for (TaskResult t : run.tasks()) {
            body.append("<h2>").append(esc(t.task())).append("</h2>\n<p class=meta>").append(esc(t.type()))
                    .append(" &middot; ").append(t.documents()).append(" documents &middot; ").append(t.numFewshot()).append("-shot &middot; ")
                    .append(String.format(Locale.ROOT, "%.1f s", t.seconds())).append("</p>\n");
            body.append("<table><tr><th>metric</th><th>value</th><th>stderr</th></tr>\n");
            List<Bar> bounded = new ArrayList<>(), ppl = new ArrayList<>();
            for (Map.Entry<String, Metric> e : t.metrics().entrySet()) {
                Metric m = e.getValue();
                body.append("<tr><td>").append(esc(e.getKey())).append(RunResult.higherIsBetter(e.getKey()) ? " ↑" : " ↓").append("</td><td>")
                        .append(num(m.value())).append("</td><td>").append(m.stderr() == null ? "–" : num(m.stderr())).append("</td></tr>\n");
                if (e.getKey().contains("perplexity")) ppl.add(new Bar(e.getKey(), m.value(), m.stderr()));
                else if (m.value() >= 0 && m.value() <= 1 && RunResult.higherIsBetter(e.getKey())) bounded.add(new Bar(e.getKey(), m.value(), m.stderr()));
            }
            body.append("</table>\n");
            if (!bounded.isEmpty()) body.append(barChart(bounded, 1.0, null));
            if (!ppl.isEmpty()) body.append(barChart(ppl, max(ppl), "lower is better"));
        }
        return page("Genset eval: " + run.model(), body.toString());
    }

    public static String leaderboard(Leaderboard board) {
        StringBuilder body = new StringBuilder("<h1>Leaderboard</h1>\n");
        if (board.rows().isEmpty()) return page("Genset leaderboard", body.append("<p>No results stored yet.</p>").toString());
        body.append("<table><tr><th>model</th>");
        for (String t : board.tasks()) body.append("<th>").append(esc(t)).append("</th>");
        body.append("</tr>\n");
        for (Leaderboard.Row r : board.rows()) {
            body.append("<tr><td>").append(esc(r.model())).append("</td>");
            for (String t : board.tasks()) {
                Leaderboard.Cell c = r.cells().get(t);
                body.append("<td>").append(c == null ? "–" : esc(Leaderboard.format(c.value(), c.stderr()))).append("</td>");
            }
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        for (String t : board.tasks()) {
            List<Bar> bars = new ArrayList<>();
            String metric = null;
            for (Leaderboard.Row r : board.rows()) {
                Leaderboard.Cell c = r.cells().get(t);
                if (c == null) continue;
                metric = c.metric();
                bars.add(new Bar(r.model(), c.value(), c.stderr()));
            }
            if (bars.isEmpty()) continue;
            boolean higher = RunResult.higherIsBetter(metric);
            body.append("<h2>").append(esc(t)).append(" <small>").append(esc(metric)).append(higher ? " ↑" : " ↓").append("</small></h2>\n");
            body.append(barChart(bars, higher && max(bars) <= 1 ? 1.0 : max(bars), null));
        }
        return page("Genset leaderboard", body.toString());
    }

    /** Horizontal bars from 0 to {@code scale} with standard-error whiskers. */
    static String barChart(List<Bar> bars, double scale, String caption) {
        int labelW = 220, plotW = 420, rowH = 26, top = 10, width = labelW + plotW + 90;
        int height = top + bars.size() * rowH + 24;
        if (scale <= 0 || !Double.isFinite(scale)) scale = 1;
        StringBuilder s = new StringBuilder();
        s.append("<svg width=\"").append(width).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height).append("\" role=\"img\">\n");
        for (int g = 0; g <= 4; g++) {
            double x = labelW + plotW * g / 4.0;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>", x, top, x, height - 20));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" fill=\"#666\">%s</text>\n",
                    x, height - 6, trim(scale * g / 4.0)));
        }
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            double y = top + i * rowH;
            double w = Math.max(0, Math.min(1, b.value() / scale)) * plotW;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%s</text>", labelW - 8, y + 16, esc(b.label())));
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#4e79a7\"/>", labelW, y + 4, w, rowH - 8));
            if (b.stderr() != null && b.stderr() > 0) {
                double lo = labelW + Math.max(0, (b.value() - b.stderr()) / scale) * plotW;
                double hi = labelW + Math.min(1.05, (b.value() + b.stderr()) / scale) * plotW;
                double cy = y + rowH / 2.0;
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\"/>", lo, cy, hi, cy));
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\"/>", lo, cy - 5, lo, cy + 5));
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\"/>", hi, cy - 5, hi, cy + 5));
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>\n", labelW + Math.min(w, plotW) + 6, y + 16, num(b.value())));
        }
        s.append("</svg>\n");
        return caption == null ? s.toString() : "<figure>" + s + "<figcaption>" + esc(caption) + "</figcaption></figure>\n";
    }

    private static double max(List<Bar> bars) {
        double m = 0;
        for (Bar b : bars) m = Math.max(m, b.value() + (b.stderr() == null ? 0 : b.stderr()));
        return m <= 0 ? 1 : m * 1.05;
    }

    private static String trim(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 1000 ? "%.1f" : "%.4f", v);
    }

    private static String page(String title, String body) {
        return """
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>%s</title>
                <style>
                body{font-family:system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}
                table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
                td:first-child,th:first-child{text-align:left}.meta{color:#666;font-size:.9em}figcaption{color:#666;font-size:.85em}
                </style></head><body>
                %s</body></html>
                """.formatted(esc(title), body);
    }

    static String esc(String s) {
        if (s == null) return "";
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
