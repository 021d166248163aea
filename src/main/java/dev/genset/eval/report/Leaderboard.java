package dev.genset.eval.report;

import dev.genset.eval.Metric;
import dev.genset.eval.TaskResult;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Models against tasks: for each (model, task) the latest stored result's primary metric, models
 * ranked by their mean rank over the tasks they share with others.
 */
public final class Leaderboard {
    /** One cell: the metric, its value and standard error, the run it came from. */
    public record Cell(String metric, double value, Double stderr, int documents, int numFewshot, String run, String created) {}

    /** A model's row: its cells by task. */
    public record Row(String model, Map<String, Cell> cells) {}

    private final List<String> tasks;
    private final List<Row> rows;

    private Leaderboard(List<String> tasks, List<Row> rows) {
        this.tasks = tasks;
        this.rows = rows;
    }

    public List<String> tasks() {
        return tasks;
    }

    public List<Row> rows() {
        return rows;
    }

    /** Builds the board from runs (oldest first: later results replace earlier ones); {@code taskFilter} may be empty. */
    public static Leaderboard of(List<RunResult> runs, Set<String> taskFilter) {
        Map<String, Map<String, Cell>> byModel = new LinkedHashMap<>();
        Set<String> tasks = new LinkedHashSet<>();
        for (RunResult run : runs) {
            for (TaskResult t : run.tasks()) {
                if (!taskFilter.isEmpty() && !taskFilter.contains(t.task())) continue;
                String metric = RunResult.primaryMetric(t);
                Metric m = t.metrics().get(metric);
                if (m == null) continue;
                tasks.add(t.task());
                byModel.computeIfAbsent(run.model(), k -> new LinkedHashMap<>())
                        .put(t.task(), new Cell(metric, m.value(), m.stderr(), t.documents(), t.numFewshot(), run.id(), run.created()));
            }
        }
        List<Row> rows = new ArrayList<>();
        byModel.forEach((model, cells) -> rows.add(new Row(model, cells)));
        List<String> taskList = List.copyOf(tasks);
        Map<String, Double> meanRank = new LinkedHashMap<>();
        for (Row r : rows) {
            double sum = 0;
            int n = 0;
            for (String task : taskList) {
                Cell c = r.cells().get(task);
                if (c == null) continue;
                boolean higher = RunResult.higherIsBetter(c.metric());
                int rank = 1;
                for (Row o : rows) {
                    Cell oc = o.cells().get(task);
                    if (oc != null && (higher ? oc.value() > c.value() : oc.value() < c.value())) rank++;
                }
                sum += rank;
                n++;
            }
            meanRank.put(r.model(), n == 0 ? Double.MAX_VALUE : sum / n);
        }
        rows.sort((a, b) -> Double.compare(meanRank.get(a.model()), meanRank.get(b.model())));
        return new Leaderboard(taskList, rows);
    }

    /** A plain-text table, one row per model, one column per task. */
    public String toText() {
        if (rows.isEmpty()) return "no evaluation results stored yet (run: genset eval run TASK --model M)\n";
        List<List<String>> table = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("model"));
        for (String t : tasks) {
            String metric = rows.stream().map(r -> r.cells().get(t)).filter(c -> c != null).map(Cell::metric).findFirst().orElse("");
            header.add(t + " (" + metric + ")");
        }
        table.add(header);
        for (Row r : rows) {
            List<String> line = new ArrayList<>(List.of(r.model()));
            for (String t : tasks) {
                Cell c = r.cells().get(t);
                line.add(c == null ? "-" : format(c.value(), c.stderr()));
            }
            table.add(line);
        }
        int[] width = new int[header.size()];
        for (List<String> l : table) for (int i = 0; i < l.size(); i++) width[i] = Math.max(width[i], l.get(i).length());
        StringBuilder sb = new StringBuilder();
        for (List<String> l : table) {
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append("  ");
                sb.append(i == 0 ? pad(l.get(i), width[i]) : padLeft(l.get(i), width[i]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String format(double v, Double err) {
        String s = String.format(Locale.ROOT, "%.4f", v);
        return err == null ? s : s + " ± " + String.format(Locale.ROOT, "%.4f", err);
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(Math.max(0, w - s.length()));
    }

    private static String padLeft(String s, int w) {
        return " ".repeat(Math.max(0, w - s.length())) + s;
    }
}
