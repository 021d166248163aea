package dev.genset.models;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A download progress bar on a terminal (redrawn in place at most ten times a second), or plain
 * progress lines when the output is not a terminal (at most one per ten seconds, plus the last).
 * Shows bytes done, percentage, speed and the time left.
 */
public final class ProgressBar implements Progress {
    private static final long TERMINAL_INTERVAL = Duration.ofMillis(100).toNanos();
    private static final long PLAIN_INTERVAL = Duration.ofSeconds(10).toNanos();
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanoClock;
    private String label = "";
    private long total = -1, done, startDone;
    private long startNanos, lastPrint;
    private double speed; // bytes per second, smoothed
    private long speedNanos, speedBytes;
    private boolean drawn;

    public ProgressBar(PrintStream out, boolean terminal) {
        this(out, terminal, System::nanoTime);
    }

    ProgressBar(PrintStream out, boolean terminal, LongSupplier nanoClock) {
        this.out = out;
        this.terminal = terminal;
        this.nanoClock = nanoClock;
    }

    /** A bar on stderr, drawn in place if stderr is a terminal. */
    public static ProgressBar stderr() {
        var console = System.console();
        return new ProgressBar(System.err, console != null && console.isTerminal());
    }

    @Override
    public synchronized void start(String label, long done, long total) {
        this.label = label;
        this.done = this.startDone = done;
        this.total = total;
        this.startNanos = this.lastPrint = this.speedNanos = nanoClock.getAsLong();
        this.speedBytes = done;
        this.speed = 0;
        if (!terminal) {
            out.println(label + ": " + (done > 0 ? "resuming at " + ModelDetails.formatBytes(done) + " of " : "") + (total >= 0 ? ModelDetails.formatBytes(total) : "unknown size"));
        } else {
            draw();
        }
    }

    @Override
    public synchronized void update(long done) {
        this.done = done;
        long now = nanoClock.getAsLong();
        long dt = now - speedNanos;
        if (dt >= 500_000_000L) { // re-estimate the speed every half second, smoothed
            double instant = (done - speedBytes) / (dt / 1e9);
            speed = speed == 0 ? instant : 0.7 * speed + 0.3 * instant;
            speedNanos = now;
            speedBytes = done;
        }
        if (now - lastPrint >= (terminal ? TERMINAL_INTERVAL : PLAIN_INTERVAL)) {
            lastPrint = now;
            if (terminal) draw();
            else out.println(line());
        }
    }

    @Override
    public synchronized void note(String message) {
        if (terminal && drawn) out.print("\r\033[K");
        out.println(message);
        drawn = false;
        if (terminal) draw();
    }

    @Override
    public synchronized void end() {
        long now = nanoClock.getAsLong();
        double secs = Math.max(1e-9, (now - startNanos) / 1e9);
        speed = (done - startDone) / secs;
        if (terminal) {
            draw();
            out.println();
        } else {
            out.println(line());
        }
        drawn = false;
        out.flush();
    }

    private void draw() {
        out.print("\r\033[K" + line());
        out.flush();
        drawn = true;
    }

    String line() {
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (total > 0) {
            double frac = Math.min(1.0, (double) done / total);
            if (terminal) {
                int filled = (int) (frac * WIDTH);
                sb.append('[').append("=".repeat(filled)).append(filled < WIDTH ? ">" : "").append(" ".repeat(Math.max(0, WIDTH - filled - 1))).append("] ");
            }
            sb.append(String.format("%3d%% ", (int) (frac * 100)));
            sb.append(ModelDetails.formatBytes(done)).append('/').append(ModelDetails.formatBytes(total));
        } else {
            sb.append(ModelDetails.formatBytes(done));
        }
        if (speed > 0) {
            sb.append(", ").append(ModelDetails.formatBytes((long) speed)).append("/s");
            if (total > 0 && done < total) sb.append(", ").append(formatDuration((long) ((total - done) / speed))).append(" left");
        }
        return sb.toString();
    }

    static String formatDuration(long seconds) {
        if (seconds >= 3600) return String.format("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        if (seconds >= 60) return String.format("%dm%02ds", seconds / 60, seconds % 60);
        return seconds + "s";
    }
}
