package dev.genset.plan;

import dev.genset.plan.Catalogue.Accelerator;
import dev.genset.plan.Catalogue.Server;

/**
 * Training compute: FLOPs = c·P·T with c = 6 (forward 2·P·T plus backward 4·P·T, Kaplan et al. 2020;
 * Brown et al. 2020 use it for GPT-3) or c = 8 with activation recomputation (one more forward pass,
 * as Narayanan et al. 2021 count it for their achieved-throughput figures); wall clock from the
 * per-GPU achieved throughput (MFU × dense BF16 peak, or a measured TFLOP/s); GPU-hours, energy at
 * the servers' rated system power, facility energy via PUE, and cost.
 */
public final class TrainPlan {
    private TrainPlan() {}

    /**
     * @param gpus    the GPU count, or null to solve for it from {@code days}
     * @param days    the target wall-clock days when solving, else null
     * @param mfu     model FLOPs utilization (0, 1], used when {@code tflops} is null
     * @param tflops  achieved TFLOP/s per GPU, overrides {@code mfu}
     * @param server  the server the GPUs sit in (for power), or null to count the GPUs' TDP only
     */
    public record Input(double params, double tokens, Accelerator gpu, Server server, Long gpus, Double days,
                        Double mfu, Double tflops, boolean recompute, double pue, Double pricePerGpuHour,
                        Double pricePerKwh) {
        public Input {
            if (!(params > 0)) throw new IllegalArgumentException("--params must be greater than zero");
            if (!(tokens > 0)) throw new IllegalArgumentException("--tokens must be greater than zero");
            if (gpus == null && days == null) throw new IllegalArgumentException("give --gpus N, or --days D to solve for the GPU count");
            if (gpus != null && days != null) throw new IllegalArgumentException("give --gpus or --days, not both");
            if (gpus != null && gpus < 1) throw new IllegalArgumentException("--gpus must be at least 1");
            if (days != null && !(days > 0)) throw new IllegalArgumentException("--days must be greater than zero");
            if (tflops != null && !(tflops > 0)) throw new IllegalArgumentException("--tflops must be greater than zero");
            if (tflops == null && (mfu == null || !(mfu > 0) || mfu > 1)) throw new IllegalArgumentException("--mfu must be in (0, 1]");
            if (!(pue >= 1)) throw new IllegalArgumentException("--pue must be at least 1.0");
            if (pricePerGpuHour != null && pricePerGpuHour < 0) throw new IllegalArgumentException("--price-per-gpu-hour must not be negative");
            if (pricePerKwh != null && pricePerKwh < 0) throw new IllegalArgumentException("--price-per-kwh must not be negative");
        }
    }

    public static Working plan(Input in) {
        Working w = new Working("training plan");
        Accelerator g = in.gpu();
        w.input("params", "parameters (P)", in.params(), "", "--params");
        w.input("tokens", "training tokens (T)", in.tokens(), "", "--tokens");
        w.input("gpu", "accelerator", g.id(), "", g.name() + "; " + g.source());

        int c = in.recompute() ? 8 : 6;
        String cWhy = in.recompute()
                ? "8 = 2 forward + 4 backward + 2 recomputed forward (--recompute; Narayanan et al. 2021)"
                : "6 = 2 forward + 4 backward FLOPs per parameter per token (Kaplan et al. 2020)";
        double flops = w.calc("flops", "training FLOPs", c * in.params() * in.tokens(), "FLOP",
                c + " * P * T  [" + cWhy + "]", c + " * " + Fmt.num(in.params()) + " * " + Fmt.num(in.tokens()));

        double perGpu;
        if (in.tflops() != null) {
            perGpu = w.calc("flops_per_gpu", "achieved per GPU", in.tflops() * 1e12, "FLOP/s", "--tflops * 1e12",
                    Fmt.num(in.tflops()) + " * 1e12");
            w.calc("mfu", "implied MFU", in.tflops() / g.bf16Tflops(), "", "--tflops / bf16_tflops",
                    Fmt.num(in.tflops()) + " / " + Fmt.num(g.bf16Tflops()));
        } else {
            perGpu = w.calc("flops_per_gpu", "achieved per GPU", in.mfu() * g.bf16Tflops() * 1e12, "FLOP/s",
                    "mfu * bf16_tflops * 1e12  [dense peak]", Fmt.num(in.mfu()) + " * " + Fmt.num(g.bf16Tflops()) + " * 1e12");
            w.input("mfu", "MFU", in.mfu(), "", "--mfu");
        }

        long gpus;
        int perServer = in.server() != null ? in.server().acceleratorsPerServer() : 1;
        if (in.gpus() != null) {
            gpus = w.count("gpus", "GPUs", in.gpus(), "", "", "--gpus");
        } else {
            double need = flops / (in.days() * 86400 * perGpu);
            long exact = (long) Math.ceil(need - 1e-9);
            w.calc("gpus_exact", "GPUs needed (unrounded)", need, "", "flops / (days * 86400 * flops_per_gpu)",
                    Fmt.num(flops) + " / (" + Fmt.num(in.days()) + " * 86400 * " + Fmt.num(perGpu) + ")");
            gpus = w.count("gpus", "GPUs", ceilTo(exact, perServer), "",
                    "ceil(gpus_exact) rounded up to whole " + perServer + "-GPU servers", "ceil(" + Fmt.num(need) + ") -> " + ceilTo(exact, perServer));
        }

        double seconds = w.calc("seconds", "wall clock", flops / (gpus * perGpu), "s", "flops / (gpus * flops_per_gpu)",
                Fmt.num(flops) + " / (" + gpus + " * " + Fmt.num(perGpu) + ")");
        double days = w.calc("days", "wall clock", seconds / 86400, "days", "seconds / 86400", Fmt.num(seconds) + " / 86400");
        double gpuHours = w.calc("gpu_hours", "GPU-hours", gpus * seconds / 3600, "GPU·h", "gpus * seconds / 3600",
                gpus + " * " + Fmt.num(seconds) + " / 3600");

        double itKw;
        if (in.server() != null) {
            long servers = w.count("servers", "servers", ceilDiv(gpus, perServer), "", "ceil(gpus / accelerators_per_server)",
                    "ceil(" + gpus + " / " + perServer + ")  [" + in.server().id() + "]");
            itKw = w.calc("it_kw", "IT power", servers * in.server().systemPowerKw(), "kW", "servers * system_power_kw",
                    servers + " * " + Fmt.num(in.server().systemPowerKw()) + "  [" + in.server().source() + "]");
            w.note("Energy uses the servers' rated maximum system power for the whole run: an upper bound (real draw is often 60-80% of it).");
        } else {
            itKw = w.calc("it_kw", "IT power (accelerators only)", gpus * g.tdpW() / 1000, "kW", "gpus * tdp_w / 1000",
                    gpus + " * " + Fmt.num(g.tdpW()) + " / 1000");
            w.note("No server for " + g.id() + " in the catalogue: energy counts accelerator TDP only (no CPUs, NICs, fans).");
        }
        return finish(w, in, seconds, gpuHours, itKw);
    }

    /**
     * Adds a cluster bill of materials (under {@code bom.}) and recounts IT power and energy with the
     * network included: it_kw becomes the cluster's servers plus switches and switch-side optics.
     */
    public static Working withBom(Working w, Input in, Working bom) {
        double itKw = w.calc("it_kw", "IT power (servers + network)", bom.number("it_kw"), "kW", "bom.it_kw",
                Fmt.num(bom.number("it_kw")) + "  [see the bill of materials]");
        finish(w, in, w.number("seconds"), w.number("gpu_hours"), itKw);
        return w.include(bom, "bom.");
    }

    /** Energy and cost, given the IT power (so that a bill of materials can replace it). */
    static Working finish(Working w, Input in, double seconds, double gpuHours, double itKw) {
        double itKwh = w.calc("energy_kwh", "IT energy", itKw * seconds / 3600, "kWh", "it_kw * seconds / 3600",
                Fmt.num(itKw) + " * " + Fmt.num(seconds) + " / 3600");
        w.input("pue", "PUE", in.pue(), "", "--pue");
        double facKwh = w.calc("facility_energy_kwh", "facility energy", itKwh * in.pue(), "kWh", "energy_kwh * pue",
                Fmt.num(itKwh) + " * " + Fmt.num(in.pue()));
        if (in.pricePerGpuHour() != null) {
            w.input("price_per_gpu_hour", "price per GPU-hour", in.pricePerGpuHour(), "$", "--price-per-gpu-hour");
            w.calc("cost", "compute cost", gpuHours * in.pricePerGpuHour(), "$", "gpu_hours * price_per_gpu_hour",
                    Fmt.num(gpuHours) + " * " + Fmt.num(in.pricePerGpuHour()));
        } else {
            w.fact("cost", "compute cost", null, "$", "gpu_hours * price_per_gpu_hour", "no --price-per-gpu-hour given");
        }
        if (in.pricePerKwh() != null) {
            w.calc("energy_cost", "facility energy cost", facKwh * in.pricePerKwh(), "$", "facility_energy_kwh * price_per_kwh",
                    Fmt.num(facKwh) + " * " + Fmt.num(in.pricePerKwh()));
        }
        return w;
    }

    static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    static long ceilTo(long a, long multiple) { return ceilDiv(a, multiple) * multiple; }
}
