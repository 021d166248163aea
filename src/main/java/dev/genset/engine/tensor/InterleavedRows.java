package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A matrix repacked with eight rows interleaved, in native memory it owns: the form
 * {@link InterleavedQ4_0} and {@link InterleavedQ4_K} lay out. Made once per tensor on first use
 * ({@link Slot}), on the pool's threads, a few groups of rows per task; the file pages of each
 * packed range are released, since the kernels never read the stored bytes again.
 */
final class InterleavedRows {
    static final int ROWS = 8;

    /** The repacked bytes, group after group. */
    final MemorySegment data;
    /** Values per row. */
    final int cols;
    private final Arena arena;

    private InterleavedRows(MemorySegment data, int cols, Arena arena) {
        this.data = data;
        this.cols = cols;
        this.arena = arena;
    }

    /** Packs group g (rows 8g .. 8g + 7, rows of {@code cols} values) of src into dst. */
    @FunctionalInterface
    interface GroupPacker {
        void pack(MemorySegment src, long g, int cols, MemorySegment dst);
    }

    /** Groups packed per task: enough to be worth a hand-off. */
    private static final int GROUPS_PER_TASK = 16;

    /** Repacks t (rows of {@code cols} values, a multiple of 8 rows) into groups of {@code groupBytes}. */
    static InterleavedRows of(FloatTensor t, int cols, long groupBytes, GroupPacker packer, Parallel pool) {
        MemorySegment src = t.segment();
        long groups = t.size() / cols / ROWS, stored = (long) ROWS * cols / t.type().blockSize * t.type().typeSize;
        Arena arena = Arena.ofShared();
        MemorySegment data = arena.allocate(groups * groupBytes, 64);
        int tasks = (int) ((groups + GROUPS_PER_TASK - 1) / GROUPS_PER_TASK);
        try {
            pool.forRange(tasks, (from, to) -> {
                long first = (long) from * GROUPS_PER_TASK, end = Math.min(groups, (long) to * GROUPS_PER_TASK);
                for (long g = first; g < end; g++) packer.pack(src, g, cols, data);
                if (src.isMapped()) src.asSlice(first * stored, (end - first) * stored).unload();
            }, t.size());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        return new InterleavedRows(data, cols, arena);
    }

    /** One tensor's interleaved form: made on first use, unless products are to stay on the stored bytes. */
    static final class Slot {
        private InterleavedRows form;
        private boolean keepStored;

        /** The form for rows of {@code cols} values; null when kept stored or the rows are not whole groups of 8. */
        synchronized InterleavedRows get(FloatTensor t, int cols, long groupBytes, GroupPacker packer, Parallel pool) {
            if (keepStored || t.size() % ((long) cols * ROWS) != 0) return null;
            if (form == null) form = of(t, cols, groupBytes, packer, pool);
            return form.cols == cols ? form : null;
        }

        synchronized void keepStored() {
            keepStored = true;
        }

        synchronized boolean keptStored() {
            return keepStored;
        }

        synchronized void free() {
            if (form != null) form.arena.close();
            form = null;
        }
    }
}
