package dev.genset.engine.batch;

/** The scheduler's queue of waiting sequences is full; the caller may retry later. */
public final class QueueFullException extends RuntimeException {
    private final int capacity;

    public QueueFullException(int capacity) {
        super("the server is busy: " + capacity + " requests are already waiting");
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }
}
