package dev.genset.plan;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TrainPlanTest {
    static final Catalogue CAT = Catalogue.bundled();

    static TrainPlan.Input input(double p, double t, String gpu, Long gpus, Double days, Double mfu, Double tflops, boolean recompute) {
        var acc = CAT.accelerator(gpu);
        return new TrainPlan.Input(p, t, acc, CAT.serverFor(acc.id()).orElse(null), gpus, days, mfu, tflops, recompute, 1.3, 2.0, null);
    }

    /**
     * Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters Using
     * Megatron-LM", section 5.1: GPT-3 (175B parameters) on 300B tokens on 1024 A100 GPUs at an
     * achieved 140 teraFLOP/s per GPU takes about 34 days; their training-time estimate is
     * 8·T·P / (n·X), counting the recomputed forward pass (--recompute).
     */
    @Test
    void gpt3On1024A100sTakesAbout34Days() {
        Working w = TrainPlan.plan(input(175e9, 300e9, "a100-80g", 1024L, null, null, 140.0, true));
        assertThat(w.number("flops")).isCloseTo(4.2e23, within(1e20));
        assertThat(w.number("days")).isCloseTo(34, within(0.5));
        assertThat(w.number("gpu_hours")).isCloseTo(1024 * w.number("seconds") / 3600, within(1e-3));
        assertThat(w.number("cost")).isCloseTo(w.number("gpu_hours") * 2.0, within(1e-3));
    }

    /** Narayanan et al. 2021, section 5.1: a 1T-parameter model on 450B tokens on 3072 A100s at 163 TFLOP/s: about 84 days. */
    @Test
    void oneTrillionParametersOn3072A100sTakesAbout84Days() {
        Working w = TrainPlan.plan(input(1e12, 450e9, "a100-80g", 3072L, null, null, 163.0, true));
        assertThat(w.number("days")).isCloseTo(84, within(1.5));
    }

    /** Brown et al. 2020 (GPT-3), appendix D: total training compute ≈ 3.14e23 FLOPs = 6·N·D with N = 175B, D = 300B. */
    @Test
    void gpt3TrainingComputeIs6ND() {
        Working w = TrainPlan.plan(input(175e9, 300e9, "a100-80g", 1024L, null, 0.5, null, false));
        assertThat(w.number("flops")).isCloseTo(3.14e23, within(0.02e23));
        assertThat(w.get("flops").formula()).startsWith("6 * P * T");
        // MFU route: achieved = 0.5 * 312 TFLOP/s (dense BF16 peak of the A100).
        assertThat(w.number("flops_per_gpu")).isEqualTo(0.5 * 312e12);
    }

    @Test
    void energyAndFacilityFollowTheServersAndPue() {
        Working w = TrainPlan.plan(input(175e9, 300e9, "a100-80g", 1024L, null, null, 140.0, true));
        // 1024 GPUs = 128 DGX A100 at 6.5 kW.
        assertThat(w.number("servers")).isEqualTo(128);
        assertThat(w.number("it_kw")).isCloseTo(128 * 6.5, within(1e-9));
        assertThat(w.number("energy_kwh")).isCloseTo(832 * w.number("seconds") / 3600, within(1e-6));
        assertThat(w.number("facility_energy_kwh")).isCloseTo(1.3 * w.number("energy_kwh"), within(1e-6));
    }

    @Test
    void solvesForTheGpuCountFromDays() {
        // 6 * 175e9 * 300e9 = 3.15e23 FLOPs at 0.4 * 989.4 TFLOP/s in 30 days: 307.07 GPUs -> 308 -> 312 (39 servers of 8).
        Working w = TrainPlan.plan(input(175e9, 300e9, "h100-sxm", null, 30.0, 0.4, null, false));
        assertThat(w.number("gpus_exact")).isCloseTo(307.07, within(0.01));
        assertThat(w.number("gpus")).isEqualTo(312);
        assertThat(w.number("days")).isLessThanOrEqualTo(30);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> input(175e9, 300e9, "a100-80g", 1024L, null, null, 0.0, true)).hasMessageContaining("--tflops");
        assertThatThrownBy(() -> input(175e9, 300e9, "a100-80g", null, null, 0.4, null, true)).hasMessageContaining("--gpus");
        assertThatThrownBy(() -> input(175e9, 300e9, "a100-80g", 8L, 3.0, 0.4, null, true)).hasMessageContaining("not both");
        assertThatThrownBy(() -> input(175e9, 300e9, "a100-80g", 8L, null, 1.5, null, true)).hasMessageContaining("--mfu");
    }
}
