package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the forms with eight rows interleaved share ({@link InterleavedQ8_0}, {@link InterleavedQ4_0}, {@link InterleavedQ4_K},
 * {@link InterleavedQ6_K}): their bytes, group after group of eight rows, the row length they
 * were made for, and the arena that owns the bytes (freed with the tensor), and the packing loop.
 */
abstract sealed class InterleavedRows permits InterleavedQ4_0, InterleavedQ8_0, InterleavedQ4_K, InterleavedQ6_K {
    static final int ROWS = 8;
    /** Groups packed per task: enough to be worth a hand-off. */
    private static final int GROUPS_PER_TASK = 16;

    /** The repacked bytes. */
    final MemorySegment data;
    /** Values per row. */
    final int cols;
    private final Arena arena;

    InterleavedRows(MemorySegment data, int cols, Arena arena) {
        this.data = data;
        this.cols = cols;
        this.arena = arena;
    }

    void free() {
        arena.close();
    }

    /** Packs group {@code group} (rows 8 * group ..) into dst. */
    @FunctionalInterface
    interface GroupPacker {
        void pack(MemorySegment dst, long group);
    }

    /**
     * Every group of eight rows of t (rows of {@code cols} values, a multiple of 8 of them),
     * {@code groupBytes} each, packed on the pool's threads into memory of {@code arena}; the
     * stored bytes' file pages are released as their groups are packed ({@link Repacking#run}).
     */
    static MemorySegment pack(FloatTensor t, int cols, Parallel pool, long groupBytes, Arena arena, GroupPacker packer) {
        long groups = t.size() / cols / ROWS;
        MemorySegment data = UninitializedMemory.allocate(arena, groups * groupBytes);
        long storedGroupBytes = (long) ROWS * (cols / t.type().blockSize) * t.type().typeSize;
        Repacking.run(pool, arena, t.stored(), groups, storedGroupBytes, GROUPS_PER_TASK, t.size(), g -> packer.pack(data, g));
        return data;
    }
}
