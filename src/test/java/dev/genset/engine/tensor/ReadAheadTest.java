package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReadAheadTest {

    /** Feeds {@code calls} timed products of three shapes, each taking its time from the way it was chosen. */
    private static int[] trial(ReadAhead choice, int calls, long withNanos, long withoutNanos) {
        int[] ways = new int[2];
        for (int i = 0; i < calls; i++) {
            long work = 1000L * (1 + i % 3);
            boolean on = choice.next(true);
            ways[on ? 1 : 0]++;
            // every tenth product of each way an outlier (a preempted thread): the medians ignore it
            long nanos = (on ? withNanos : withoutNanos) * (1 + i % 3) * (i % 10 == 0 ? 50 : 1);
            choice.record(on, work, nanos);
        }
        return ways;
    }

    @Test
    void aTrialTriesBothWaysAndKeepsTheFaster() {
        ReadAhead choice = new ReadAhead(0);
        int[] ways = trial(choice, ReadAhead.TRIAL_CALLS, 130, 100);
        assertThat(ways[0]).as("products not read ahead").isBetween(ReadAhead.TRIAL_CALLS / 3, 2 * ReadAhead.TRIAL_CALLS / 3);
        assertThat(ways[1]).as("products read ahead").isBetween(ReadAhead.TRIAL_CALLS / 3, 2 * ReadAhead.TRIAL_CALLS / 3);
        assertThat(choice.next(true)).as("reading ahead was slower").isFalse();
        assertThat(choice.next(false)).as("and is off for batches too").isFalse();
        assertThat(choice.describe()).isEqualTo("off (measured: 1.30x faster than with)");
        assertThat(choice.choice()).as("the metrics' number for off").isZero();
        assertThat(choice.gain()).isCloseTo(1.30, org.assertj.core.data.Offset.offset(1e-9));

        ReadAhead other = new ReadAhead(0);
        trial(other, ReadAhead.TRIAL_CALLS, 100, 125);
        for (int i = 0; i < 100; i++) assertThat(other.next(true)).isTrue();
        assertThat(other.describe()).isEqualTo("on (measured: 1.25x faster than without)");
        assertThat(other.choice()).isEqualTo(1.0);
        assertThat(other.gain()).isCloseTo(1.25, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void theChoiceHoldsUntilTheNextTrialWhichCanChangeIt() {
        ReadAhead choice = new ReadAhead(0);
        trial(choice, ReadAhead.TRIAL_CALLS, 100, 150);
        // the machine changes: reading ahead becomes the slower way, but the choice holds for now
        int[] held = trial(choice, ReadAhead.HOLD_TRIALS * ReadAhead.TRIAL_CALLS - 1, 150, 100);
        assertThat(held[0]).as("products not read ahead while the choice holds").isZero();
        assertThat(choice.next(true)).isTrue();
        choice.record(true, 1000, 150);  // the last held product: a new trial begins
        int[] ways = trial(choice, ReadAhead.TRIAL_CALLS, 150, 100);
        assertThat(ways[0]).isPositive();
        assertThat(ways[1]).isPositive();
        assertThat(choice.next(true)).as("the new trial's finding").isFalse();
    }

    @Test
    void untilMeasuredItReadsAheadAndSkipsTheWarmUp() {
        ReadAhead choice = new ReadAhead(10);
        assertThat(choice.describe()).isEqualTo("on (not yet measured)");
        assertThat(choice.choice()).isEqualTo(1.0);
        assertThat(choice.gain()).as("nothing measured yet").isNaN();
        for (int i = 0; i < 10; i++) {
            assertThat(choice.next(true)).as("warm-up products are not tried the other way").isTrue();
            choice.record(true, 1000, 1_000_000_000L);  // the compiler's first calls: not counted
        }
        trial(choice, ReadAhead.TRIAL_CALLS, 110, 100);
        assertThat(choice.next(true)).isFalse();
    }

    @Test
    void shapesTimedTooFewTimesDecideNothing() {
        ReadAhead choice = new ReadAhead(0);
        // every product a shape of its own: no shape is timed enough either way
        for (int i = 0; i < ReadAhead.TRIAL_CALLS; i++) {
            boolean on = choice.next(true);
            choice.record(on, i, on ? 1000 : 1);
        }
        assertThat(choice.next(false)).as("the earlier choice (reading ahead) stays").isTrue();
        assertThat(choice.describe()).isEqualTo("on (not yet measured)");
    }

    @Test
    void productsOfOneRowAndOfSeveralChooseApart() {
        // a batch's products are bound by their arithmetic, a row's by the memory: one trial over both
        // was decided by the batches' longer times
        assertThat(ReadAhead.forBatch(1)).isSameAs(ReadAhead.ONE_ROW);
        assertThat(ReadAhead.forBatch(2)).isSameAs(ReadAhead.BATCHES);
        assertThat(ReadAhead.forBatch(128)).isSameAs(ReadAhead.BATCHES);
        assertThat(ReadAhead.ONE_ROW).isNotSameAs(ReadAhead.BATCHES);
        assertThat(ReadAhead.state()).startsWith("one row ").contains(", batches ");
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertThat(ReadAhead.median(new long[]{5, 1, 9, 3, 7}, 5)).isEqualTo(5);
        assertThat(ReadAhead.median(new long[]{8, 2, 6, 4, 100}, 4)).as("the first four only").isEqualTo(5);
        assertThat(ReadAhead.median(new long[]{42}, 1)).isEqualTo(42);
    }

    @Test
    void onlyTheInterleavedDecodingTypesReadAhead() {
        Assumptions.assumeTrue(ReadAhead.AUTO, "a run with the setting given decides by its list");
        assertThat(ReadAhead.reads(GgmlType.Q4_0, true)).isTrue();
        assertThat(ReadAhead.reads(GgmlType.Q6_K, true)).isTrue();
        assertThat(ReadAhead.reads(GgmlType.Q4_0, false)).isFalse();
        assertThat(ReadAhead.reads(GgmlType.F16, true)).isFalse();
        assertThat(ReadAhead.bytes(GgmlType.Q8_0, true, 4352)).isEqualTo(4352);
        assertThat(ReadAhead.bytes(GgmlType.Q8_0, false, 4352)).isZero();
    }
}
