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

    /** Makes a tensor's interleaved form for rows of {@code cols} values on the pool's threads ({@code InterleavedQ4_0::of} and the like). */
    @FunctionalInterface
    interface Maker<F extends FloatTensor, T extends InterleavedRows> {
        T of(F tensor, int cols, Parallel pool);
    }

    /**
     * Where a tensor keeps its interleaved form: made on first use, freed on release, never made once
     * the tensor is told to keep its stored form. Products ask for it on every call, so it must not
     * allocate once made (the makers are method references, which capture nothing).
     */
    static final class Slot<F extends FloatTensor, T extends InterleavedRows> {
        private volatile T form;
        private volatile boolean keepStored;
        /** Whether a model's repacking ahead of use is to make this form ({@link #comingAhead}). */
        private volatile boolean ahead;

        /**
         * Whether the form for rows of {@code cols} values is still to be made by a model's
         * repacking ahead of use (not made yet, and that repacking not ended): then a small product
         * reads the stored bytes in the form's order instead of making it or waiting for it. Never
         * waits.
         */
        boolean comingAhead(FloatTensor t, int cols) {
            return ahead && form == null && !keepStored && t.size() % ((long) cols * ROWS) == 0;
        }

        /** Says whether a model's repacking ahead of use is to make this form (true from its load until that repacking ends). */
        void expectAhead(boolean ahead) {
            this.ahead = ahead;
        }

        /**
         * The form of tensor t for rows of {@code cols} values, made on first use; null when products
         * stay on the stored bytes (rows not in whole groups of eight, or {@link #keepStored}). A matrix
         * has one row length, so a form asked for with another is a mistake of the caller's (thrown).
         */
        synchronized T get(F t, int cols, Parallel pool, Maker<F, T> maker) {
            if (keepStored || t.size() % ((long) cols * ROWS) != 0) return null;
            if (form == null) form = maker.of(t, cols, pool);
            if (form.cols != cols) throw new IllegalStateException("interleaved for rows of " + form.cols + " values, asked for " + cols);
            return form;
        }

        synchronized void free() {
            if (form != null) form.free();
            form = null;
        }

        synchronized boolean made() {
            return form != null;
        }

        synchronized void keepStored() {
            keepStored = true;
        }

        synchronized boolean keepsStored() {
            return keepStored;
        }
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
