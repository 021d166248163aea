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
 *
 * <p>On request ({@link #adviseHugePages}) blocks of 2 MiB or more start on a 2 MiB boundary and
 * their whole 2 MiB pages are advised as transparent huge pages (Linux's {@code madvise(MADV_HUGEPAGE)},
 * which the kernel may ignore): decoding reads every weight once a token, and with one TLB entry
 * per 2 MiB rather than per 4 KiB it ran 1 to 2.5% faster here. Off by default: faulting in huge
 * pages was slower on the virtual machines measured (a first token on a 1.1 GB model 0.3 to 0.5 s
 * later), and other engines' reports differ from machine to machine (BENCHMARKS.md, round 20).
 */
public final class UninitializedMemory {
    private UninitializedMemory() {}

    private static final long ALIGN = 64;
    /**
     * Tests set this to fill each block with a nonzero pattern before it is handed out: fresh
     * blocks from the kernel are zero anyway, and a packer that missed a byte would go unnoticed.
     */
    static volatile boolean poisonForTests;
    private static final MethodHandle ALIGNED_ALLOC, FREE, MADVISE;
    /** Linux's huge page size on x86-64 and most arm64 kernels; elsewhere the advice is still harmless. */
    static final long HUGE_PAGE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;
    private static volatile boolean hugePages;

    static {
        MethodHandle alloc = null, free = null, madvise = null;
        if (UninitializedMemory.class.getModule().isNativeAccessEnabled()) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                alloc = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
                if (System.getProperty("os.name", "").startsWith("Linux"))
                    madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            } catch (RuntimeException | LinkageError e) {
                alloc = free = madvise = null;  // no C library to call: zeroed memory from the arena instead
            }
        }
        ALIGNED_ALLOC = alloc;
        FREE = free;
        MADVISE = madvise;
    }

    /**
     * Whether blocks allocated from now on are advised as transparent huge pages (see above); a
     * process-wide choice, like the kernel's own setting. Without Linux or native access it does nothing.
     */
    public static void adviseHugePages(boolean on) {
        hugePages = on;
    }

    /** Whether {@link #adviseHugePages} is on and can take effect here. */
    public static boolean hugePagesAdvised() {
        return hugePages && MADVISE != null && ALIGNED_ALLOC != null;
    }

    /** {@code bytes} bytes aligned to 64, contents undefined, freed when {@code arena} closes. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (ALIGNED_ALLOC == null) return arena.allocate(bytes, ALIGN);
        boolean huge = bytes >= HUGE_PAGE && hugePagesAdvised();
        long align = huge ? HUGE_PAGE : ALIGN;
        long size = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);  // a multiple of 64; glibc needs no more
        MemorySegment block;
        try {
            block = (MemorySegment) ALIGNED_ALLOC.invokeExact(align, size);
            // only whole huge pages: a partly used one would hold up to 2 MiB that nothing reads
            if (huge && block.address() != 0) {
                int ignored = (int) MADVISE.invokeExact(block, size / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);  // refused: small pages, as without advice
            }
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
