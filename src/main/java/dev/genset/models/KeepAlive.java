package dev.genset.models;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a loaded model stays in memory after its last request, as Ollama's keep_alive: a
 * duration ("5m", "1h30m", "90s", "500ms", or a number of seconds), "0" to unload as soon as the
 * request ends, or any negative value ("-1", "-1m") to keep it loaded until explicitly unloaded.
 */
public record KeepAlive(Duration duration) {
    public static final KeepAlive FOREVER = new KeepAlive(null);
    public static final KeepAlive NONE = new KeepAlive(Duration.ZERO);
    public static final KeepAlive DEFAULT = new KeepAlive(Duration.ofMinutes(5));
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");
    private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))+");

    public KeepAlive {
        if (duration != null && duration.isNegative()) duration = null;
    }

    public static KeepAlive of(Duration d) {
        return new KeepAlive(d);
    }

    public boolean forever() {
        return duration == null;
    }

    public boolean immediate() {
        return duration != null && duration.isZero();
    }

    /** Parses "5m", "0", "-1", "300" (seconds), "1h30m", "2.5s"; null or blank gives null (no override). */
    public static KeepAlive parse(String text) {
        if (text == null || text.isBlank()) return null;
        String t = text.trim().toLowerCase(Locale.ROOT);
        boolean negative = t.startsWith("-");
        String body = negative || t.startsWith("+") ? t.substring(1) : t;
        Duration d;
        if (body.matches("\\d+(\\.\\d+)?")) {
            d = Duration.ofMillis(Math.round(Double.parseDouble(body) * 1000));
        } else {
            if (!WHOLE.matcher(body).matches())
                throw new IllegalArgumentException("invalid keep_alive '" + text + "': use a duration such as 5m, 30s or 1h, 0 to unload at once, or -1 to keep loaded");
            d = Duration.ZERO;
            Matcher m = PART.matcher(body);
            while (m.find()) {
                double v = Double.parseDouble(m.group(1));
                d = d.plusMillis(switch (m.group(2)) {
                    case "ms" -> Math.round(v);
                    case "s" -> Math.round(v * 1000);
                    case "m" -> Math.round(v * 60_000);
                    default -> Math.round(v * 3_600_000);
                });
            }
        }
        if (negative && !d.isZero()) return FOREVER;
        return new KeepAlive(d);
    }

    @Override
    public String toString() {
        if (forever()) return "-1";
        if (duration.isZero()) return "0";
        long ms = duration.toMillis();
        if (ms % 3_600_000 == 0) return ms / 3_600_000 + "h";
        if (ms % 60_000 == 0) return ms / 60_000 + "m";
        if (ms % 1000 == 0) return ms / 1000 + "s";
        return ms + "ms";
    }
}
