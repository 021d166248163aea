package dev.genset.engine.sampling;

/**
 * Partial selection of the k largest values with a bounded min-heap: O(n log k) and no allocation,
 * instead of sorting the whole vocabulary every step. Ties order by the lower index first so that
 * results never depend on the selection path.
 */
final class TopK {
    private TopK() {}

    /**
     * Writes the indices of the {@code k} largest {@code values[0..n)} into {@code out[0..k)}, best first,
     * and returns the count written (min(k, n)).
     */
    static int select(float[] values, int n, int k, int[] out) {
        k = Math.min(k, n);
        if (k <= 0) return 0;
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (size < k) {
                out[size] = i;
                siftUp(values, out, size++);
            } else if (better(values, i, out[0])) {
                out[0] = i;
                siftDown(values, out, 0, size);
            }
        }
        // Heapsort: the root is always the worst kept, so moving it to the end leaves the array best-first.
        for (int end = size - 1; end > 0; end--) {
            int t = out[0];
            out[0] = out[end];
            out[end] = t;
            siftDown(values, out, 0, end);
        }
        return size;
    }

    /** True if index a ranks above index b: larger value, or equal value and lower id. NaN ranks last. */
    static boolean better(float[] v, int a, int b) {
        float x = v[a], y = v[b];
        if (x > y) return true;
        if (x < y) return false;
        if (x == y) return a < b;
        return Float.isNaN(y) && (!Float.isNaN(x) || a < b);
    }

    private static void siftUp(float[] v, int[] heap, int i) {
        int item = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!better(v, heap[parent], item)) break; // min-heap on rank: the worst sits at the root
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = item;
    }

    private static void siftDown(float[] v, int[] heap, int i, int size) {
        int item = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && better(v, heap[child], heap[child + 1])) child++;
            if (!better(v, item, heap[child])) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = item;
    }
}
