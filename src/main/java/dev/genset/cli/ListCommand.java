package dev.genset.cli;

import dev.genset.models.Manifest;
import dev.genset.models.ModelDetails;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "list", aliases = "ls", description = "List the models in the store.")
final class ListCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
        List<Manifest> all = home.models().list();
        if (all.isEmpty()) {
            System.out.println("no models in " + home.models().root() + " (genset pull or genset import adds them)");
            return 0;
        }
        String fmt = "%-40s %-12s %9s  %-8s %9s  %-8s %s%n";
        System.out.printf(fmt, "NAME", "ID", "SIZE", "ARCH", "PARAMS", "QUANT", "MODIFIED");
        for (Manifest m : all) {
            ModelDetails d = m.details();
            System.out.printf(fmt, m.ref(), m.sha256().substring(0, 12), ModelDetails.formatBytes(m.size()),
                    d == null || d.architecture() == null ? "-" : d.architecture(),
                    d == null ? "-" : ModelDetails.formatParameters(d.parameters()),
                    d == null || d.quantization() == null ? "-" : d.quantization(), ago(m.created()));
        }
        return 0;
    }

    static String ago(String iso) {
        if (iso == null) return "-";
        try {
            long s = Duration.between(Instant.parse(iso), Instant.now()).toSeconds();
            if (s < 60) return "just now";
            if (s < 3600) return plural(s / 60, "minute") + " ago";
            if (s < 86400) return plural(s / 3600, "hour") + " ago";
            if (s < 86400L * 60) return plural(s / 86400, "day") + " ago";
            return iso.substring(0, 10);
        } catch (RuntimeException e) {
            return iso;
        }
    }

    private static String plural(long n, String unit) {
        return n + " " + unit + (n == 1 ? "" : "s");
    }
}
