package dev.genset.engine.batch;

/** The scheduler is shutting down and takes no new sequences. */
public final class SchedulerClosedException extends IllegalStateException {
    public SchedulerClosedException() {
        super("the server is shutting down");
    }
}
