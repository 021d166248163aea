package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory that is not zeroed first, for the repacked weights, which are written in full
 * right after: {@link Arena#allocate} zeroes every byte on the calling thread, and for a model's
 * weights that is hundreds of megabytes written (and every page faulted in) once more, one
 * thread, before the pool's threads pack into it. Large blocks from the C allocator come straight
 * from the kernel as untouched pages, so their first write is the packing's own. Freed when the
 * arena closes. Falls back to {@link Arena#allocate} where native access is not enabled.
 */
public final class UninitializedMemory {
    private UninitializedMemory() {}

    private static final long ALIGN = 64;
    /**
     * Tests set this to fill each block with a nonzero pattern before it is handed out: fresh
     * blocks from the kernel are zero anyway, and a packer that missed a byte would go unnoticed.
     */
    static volatile boolean poisonForTests;
    private static final MethodHandle ALIGNED_ALLOC, FREE;

    static {
        MethodHandle alloc = null, free = null;
        if (UninitializedMemory.class.getModule().isNativeAccessEnabled()) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                alloc = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            } catch (RuntimeException | LinkageError e) {
                alloc = free = null;  // no C library to call: zeroed memory from the arena instead
            }
        }
        ALIGNED_ALLOC = alloc;
        FREE = free;
    }

    /** {@code bytes} bytes aligned to 64, contents undefined, freed when {@code arena} closes. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (ALIGNED_ALLOC == null) return arena.allocate(bytes, ALIGN);
        long size = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);  // aligned_alloc wants a multiple of the alignment
        MemorySegment block;
        try {
            block = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, size);
        } catch (Throwable e) {
            throw new IllegalStateException("native allocation of " + bytes + " bytes failed", e);
        }
        if (block.address() == 0) throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory for repacked weights");
        MemorySegment segment = block.reinterpret(bytes, arena, UninitializedMemory::free);
        if (poisonForTests) segment.fill((byte) 0xA5);
        return segment;
    }

    private static void free(MemorySegment block) {
        try {
            FREE.invokeExact(block);
        } catch (Throwable e) {
            throw new IllegalStateException("freeing native memory failed", e);
        }
    }
}
