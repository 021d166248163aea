package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.data.CaptureLog;
import dev.genset.data.Dataset;
import dev.genset.data.DatasetInfo;
import dev.genset.data.DatasetStore;
import dev.genset.data.Schema;
import dev.genset.models.ModelDetails;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "data", description = "Manage datasets (JSONL, CSV): versioned, hashed, schema inferred; export captured requests.",
        subcommands = {DataCommand.Add.class, DataCommand.ListVersions.class, DataCommand.Show.class, DataCommand.Head.class,
                DataCommand.Rm.class, DataCommand.ExportLogs.class})
final class DataCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }


    @Command(name = "add", description = "Store FILE as the next version of dataset NAME (NAME@1, NAME@2, ...).")
    static final class Add implements Callable<Integer> {
        @Mixin HomeOption home;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "FILE", description = ".jsonl or .csv (with a header line)") Path file;
        @Option(names = "--format", paramLabel = "jsonl|csv", description = "Format (default: from the file extension).") String format;

        @Override
        public Integer call() throws Exception {
            DatasetStore.Added a = home.datasets().add(name, file, format);
            DatasetInfo i = a.info();
            if (a.created())
                System.out.printf("added %s: %,d rows, %d fields, %s, sha256 %s%n", i.ref(), i.rows(), i.schema().fields().size(),
                        ModelDetails.formatBytes(i.size()), i.sha256().substring(0, 12));
            else
                System.out.printf("unchanged: %s already holds these bytes (sha256 %s)%n", i.ref(), i.sha256().substring(0, 12));
            return 0;
        }
    }

    @Command(name = "list", aliases = "ls", description = "List datasets and their versions.")
    static final class ListVersions implements Callable<Integer> {
        @Mixin HomeOption home;
        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Only this dataset's versions.") String name;

        @Override
        public Integer call() throws Exception {
            DatasetStore store = home.datasets();
            List<DatasetInfo> all = name == null ? store.list() : store.versions(name);
            if (all.isEmpty()) {
                System.out.println(name == null ? "no datasets (genset data add NAME FILE adds one)" : "no dataset named " + name);
                return 0;
            }
            String fmt = "%-32s %-6s %10s %9s  %-12s %s%n";
            System.out.printf(fmt, "DATASET", "FORMAT", "ROWS", "SIZE", "SHA256", "CREATED");
            for (DatasetInfo i : all)
                System.out.printf(fmt, i.ref(), i.format(), String.format("%,d", i.rows()), ModelDetails.formatBytes(i.size()),
                        i.sha256().substring(0, 12), ListCommand.ago(i.created()));
            return 0;
        }
    }

    @Command(name = "show", description = "Describe a dataset version (default: the latest): hash, rows, schema.")
    static final class Show implements Callable<Integer> {
        @Mixin HomeOption home;
        @Parameters(index = "0", paramLabel = "NAME[@VERSION]") String ref;

        @Override
        public Integer call() throws Exception {
            DatasetStore store = home.datasets();
            DatasetInfo i = store.info(ref);
            System.out.printf("  %-10s %s%n  %-10s %s%n  %-10s %,d%n  %-10s %s (%,d bytes)%n  %-10s %s%n  %-10s %s%n  %-10s %s%n  %-10s %s%n",
                    "dataset", i.ref(), "format", i.format(), "rows", i.rows(), "size", ModelDetails.formatBytes(i.size()), i.size(),
                    "sha256", i.sha256(), "source", i.source(), "created", i.created(), "versions",
                    String.join(", ", store.versions(i.name()).stream().map(v -> Integer.toString(v.version())).toList()));
            System.out.println("  schema:");
            for (Schema.Field f : i.schema().fields())
                System.out.printf("    %-24s %s%n", f.name(), f.display());
            return 0;
        }
    }

    @Command(name = "head", description = "Print a dataset's first records as JSON lines.")
    static final class Head implements Callable<Integer> {
        @Mixin HomeOption home;
        @Parameters(index = "0", paramLabel = "NAME[@VERSION]") String ref;
        @Option(names = {"-n", "--lines"}, paramLabel = "N", defaultValue = "10", description = "Records to print (default: ${DEFAULT-VALUE}).") int n;

        @Override
        public Integer call() throws Exception {
            Dataset d = home.datasets().open(ref);
            ObjectMapper json = new ObjectMapper();  // one line a record
            for (Map<String, Object> row : d.head(n)) System.out.println(json.writeValueAsString(row));
            return 0;
        }
    }

    @Command(name = "rm", description = "Remove one version (NAME@V) or every version (NAME) of a dataset.")
    static final class Rm implements Callable<Integer> {
        @Mixin HomeOption home;
        @Parameters(arity = "1..*", paramLabel = "NAME[@VERSION]") List<String> refs;

        @Override
        public Integer call() throws Exception {
            for (String r : refs)
                for (DatasetInfo i : home.datasets().remove(r)) System.out.println("deleted " + i.ref());
            return 0;
        }
    }

    @Command(name = "export-logs", description = "Write captured requests (prompts and completions) as a JSONL dataset.")
    static final class ExportLogs implements Callable<Integer> {
        @Mixin HomeOption home;
        @Option(names = "--since", paramLabel = "WHEN", description = "Only records from then on: an instant (2025-01-31T12:00:00Z), a date (2025-01-31, UTC) or an age (24h, 7d, 30m).") String since;
        @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "JSONL file to write.") Path output;
        @Option(names = "--add", paramLabel = "NAME", description = "Also store the export as the next version of dataset NAME.") String add;

        @Override
        public Integer call() throws Exception {
            long n = CaptureLog.at(home.path()).export(parseSince(since, Instant.now()), output);
            System.out.printf("exported %,d records to %s%n", n, output);
            if (add != null) {
                if (n == 0) throw new IllegalArgumentException("nothing to add: no captured records" + (since != null ? " since " + since : ""));
                DatasetStore.Added a = home.datasets().add(add, output, "jsonl");
                System.out.println((a.created() ? "added " : "unchanged: ") + a.info().ref());
            }
            return 0;
        }
    }

    private static final Pattern AGE = Pattern.compile("(\\d+)([smhdw])");

    static Instant parseSince(String s, Instant now) {
        if (s == null || s.isBlank()) return null;
        String t = s.trim();
        try {
            return Instant.parse(t);
        } catch (DateTimeParseException ignored) {
            // not an instant
        }
        try {
            return LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException ignored) {
            // not a date
        }
        Matcher m = AGE.matcher(t.toLowerCase());
        if (m.matches()) {
            long v = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(v);
                case "m" -> Duration.ofMinutes(v);
                case "h" -> Duration.ofHours(v);
                case "d" -> Duration.ofDays(v);
                default -> Duration.ofDays(7 * v);
            };
            return now.minus(d);
        }
        throw new IllegalArgumentException("invalid --since '" + s + "': use 2025-01-31T12:00:00Z, 2025-01-31 or an age such as 24h or 7d");
    }
}
