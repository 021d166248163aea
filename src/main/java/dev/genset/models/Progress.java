package dev.genset.models;

/** Receives a transfer's progress. Implementations throttle their own output. */
public interface Progress {
    /** A transfer of {@code total} bytes (-1 if unknown) starts, {@code done} of them already present. */
    void start(String label, long done, long total);

    /** {@code done} bytes are present now. Called often; cheap implementations only. */
    void update(long done);

    /** A one-line note (retry, resume, verification step). */
    void note(String message);

    /** The transfer ended (successfully or not). */
    void end();

    Progress NONE = new Progress() {
        @Override public void start(String label, long done, long total) {}
        @Override public void update(long done) {}
        @Override public void note(String message) {}
        @Override public void end() {}
    };
}
