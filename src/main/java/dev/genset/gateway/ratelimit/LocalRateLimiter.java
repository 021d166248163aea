package dev.genset.gateway.ratelimit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/** Rate limits of one process, in memory. */
public final class LocalRateLimiter implements RateLimiter {
    private static final class Bucket {
        double tokens;
        long ts;
    }

    private final Map<String, Bucket> buckets = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final LongSupplier clockMs;

    public LocalRateLimiter() {
        this(System::currentTimeMillis);
    }

    public LocalRateLimiter(LongSupplier clockMs) {
        this.clockMs = clockMs;
    }

    @Override
    public Decision acquire(List<Take> takes) {
        return apply(takes, true);
    }

    @Override
    public void refund(List<Take> gives) {
        apply(gives, false);
    }

    private Decision apply(List<Take> takes, boolean take) {
        lock.lock();
        try {
            long now = clockMs.getAsLong();
            double[] levels = new double[takes.size()];
            boolean ok = true;
            long retry = 0;
            int refusedBy = -1;
            for (int i = 0; i < takes.size(); i++) {
                Take t = takes.get(i);
                Bucket b = buckets.computeIfAbsent(t.bucket(), k -> {
                    Bucket nb = new Bucket();
                    nb.tokens = t.capacityPerMinute();
                    nb.ts = now;
                    return nb;
                });
                double cap = t.capacityPerMinute();
                double level = Math.min(cap, b.tokens + Math.max(0, now - b.ts) * cap / 60_000.0);
                levels[i] = level;
                if (take && level < t.amount()) {
                    if (ok) refusedBy = i;
                    ok = false;
                    long wait = t.amount() > cap ? -1 : (long) Math.ceil((t.amount() - level) * 60_000.0 / cap);
                    if (wait < 0 || retry < 0) retry = -1;
                    else retry = Math.max(retry, wait);
                }
            }
            List<Level> out = new ArrayList<>(takes.size());
            for (int i = 0; i < takes.size(); i++) {
                Take t = takes.get(i);
                double cap = t.capacityPerMinute();
                double level = levels[i];
                if (take) {
                    if (ok) level -= t.amount();
                } else {
                    level = Math.min(cap, level + t.amount());
                }
                Bucket b = buckets.get(t.bucket());
                b.tokens = level;
                b.ts = now;
                out.add(level(t.bucket(), t.capacityPerMinute(), level));
            }
            return new Decision(ok, ok ? 0 : retry, refusedBy, out);
        } finally {
            lock.unlock();
        }
    }

    static Level level(String bucket, long capacity, double level) {
        long remaining = (long) Math.max(0, Math.floor(level));
        long toFull = (long) Math.ceil(Math.max(0, capacity - level) * 60_000.0 / capacity);
        return new Level(bucket, capacity, remaining, toFull);
    }
}
