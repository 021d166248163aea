package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The parallel loop shared by the repacked forms ({@link PackedQuants} and the interleaved forms, {@link InterleavedRows}). */
final class Repacking {
    private Repacking() {}

    /** Packs one unit (a block, or a group of rows) of the stored tensor into the repacked form. */
    @FunctionalInterface
    interface Unit {
        void pack(long unit);
    }

    /**
     * Packs units [0, units) on the pool's threads, {@code perTask} to a hand-off, and after each
     * range lets the kernel drop the stored bytes' file pages (the kernels do not read them again):
     * {@code stored} is the tensor's stored segment as given ({@link FloatTensor#stored}), which knows it is mapped.
     * On failure closes {@code arena}, which holds the repacked form, and rethrows.
     */
    static void run(Parallel pool, Arena arena, MemorySegment stored, long units, long storedBytesPerUnit, int perTask, long work, Unit unit) {
        int tasks = (int) ((units + perTask - 1) / perTask);
        try {
            pool.forRange(tasks, (from, to) -> {
                long first = (long) from * perTask, end = Math.min(units, (long) to * perTask);
                for (long u = first; u < end; u++) unit.pack(u);
                if (stored.isMapped()) stored.asSlice(first * storedBytesPerUnit, (end - first) * storedBytesPerUnit).unload();
            }, work);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }
}
