package dev.genset.engine.batch;

import java.util.function.Consumer;

/**
 * The caller's handle on a submitted sequence: its events go to the sink given at submission
 * (called on the scheduler thread, so the sink must not block), and {@link #cancel} ends it at the
 * next decode step, freeing its slot.
 */
public final class Sequence {
    private final long id;
    private final GenerationRequest request;
    private final Consumer<SequenceEvent> sink;
    final long submittedNanos;
    final long deadlineNanos; // Long.MAX_VALUE: none
    private volatile boolean cancelled;
    private volatile boolean finished;

    Sequence(long id, GenerationRequest request, Consumer<SequenceEvent> sink) {
        this.id = id;
        this.request = request;
        this.sink = sink;
        this.submittedNanos = System.nanoTime();
        this.deadlineNanos = request.timeout() == null ? Long.MAX_VALUE : submittedNanos + request.timeout().toNanos();
    }

    public long id() {
        return id;
    }

    public GenerationRequest request() {
        return request;
    }

    /** Asks the scheduler to stop this sequence; it reports {@code Done} with reason CANCELLED unless it already ended. */
    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Whether the terminal event was sent. */
    public boolean isFinished() {
        return finished;
    }

    void emit(SequenceEvent event) {
        if (finished) return;
        if (event.isTerminal()) finished = true;
        try {
            sink.accept(event);
        } catch (RuntimeException e) {
            cancelled = true; // a sink that throws has lost interest
        }
    }

    boolean expired(long now) {
        return now - deadlineNanos >= 0 && deadlineNanos != Long.MAX_VALUE;
    }
}
