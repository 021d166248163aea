package dev.genset.gateway.route;

import java.util.function.LongSupplier;

/**
 * Rests a failing deployment: after {@code threshold} failures in a row it is skipped for
 * {@code coolDownMs}; then one trial request goes through, and its outcome closes or reopens it.
 */
public final class CircuitBreaker {
    public enum State { CLOSED, OPEN, HALF_OPEN }

    private final int threshold;
    private final long coolDownMs;
    private final LongSupplier clock;
    private int failures;
    private long openedAt;
    private State state = State.CLOSED;
    private boolean trialInFlight;

    public CircuitBreaker(int threshold, long coolDownMs, LongSupplier clockMs) {
        this.threshold = Math.max(1, threshold);
        this.coolDownMs = coolDownMs;
        this.clock = clockMs;
    }

    /** Whether a request may go to the deployment now (a half-open breaker lets one through). */
    public synchronized boolean allow() {
        if (state == State.OPEN && clock.getAsLong() - openedAt >= coolDownMs) {
            state = State.HALF_OPEN;
            trialInFlight = false;
        }
        if (state == State.CLOSED) return true;
        if (state == State.HALF_OPEN && !trialInFlight) {
            trialInFlight = true;
            return true;
        }
        return false;
    }

    public synchronized void success() {
        failures = 0;
        state = State.CLOSED;
        trialInFlight = false;
    }

    public synchronized void failure() {
        failures++;
        if (state == State.HALF_OPEN || failures >= threshold) {
            state = State.OPEN;
            openedAt = clock.getAsLong();
            trialInFlight = false;
        }
    }

    public synchronized State state() {
        if (state == State.OPEN && clock.getAsLong() - openedAt >= coolDownMs) return State.HALF_OPEN;
        return state;
    }
}
