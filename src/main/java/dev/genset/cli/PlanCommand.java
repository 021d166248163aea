package dev.genset.cli;

import dev.genset.plan.Catalogue;
import dev.genset.plan.Catalogue.Accelerator;
import dev.genset.plan.Catalogue.Server;
import dev.genset.plan.Catalogue.Switch;
import dev.genset.plan.ClusterPlan;
import dev.genset.plan.ModelShape;
import dev.genset.plan.Precision;
import dev.genset.plan.Quantity;
import dev.genset.plan.Report;
import dev.genset.plan.ServePlan;
import dev.genset.plan.TrainPlan;
import dev.genset.plan.Working;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "plan", description = {
        "Plan compute: training time and cost, serving capacity, and a cluster's bill of materials.",
        "Figures come from a hardware catalogue (dense datasheet figures, each with its source);",
        "--explain prints every figure with its formula and inputs."},
        subcommands = {PlanCommand.Train.class, PlanCommand.Serve.class, PlanCommand.Cluster.class, PlanCommand.Hardware.class})
final class PlanCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Output and catalogue options shared by the subcommands. */
    static final class Output {
        @Option(names = "--json", description = "Print the figures as JSON.")
        boolean json;

        @Option(names = "--explain", description = "Print each figure with its formula and the inputs it used.")
        boolean explain;

        @Option(names = "--catalogue", paramLabel = "FILE", description = "A catalogue JSON file merged over the bundled one (after $GENSET_HOME/plan/catalogue.json).")
        Path catalogue;

        Catalogue load() throws Exception {
            String home = System.getenv("GENSET_HOME");
            Path homeDir = home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".genset");
            return Catalogue.load(homeDir.resolve("plan").resolve("catalogue.json"), catalogue);
        }

        void print(Working w) {
            if (json) System.out.println(Report.jsonText(w));
            else if (explain) Report.explain(w, System.out);
            else Report.table(w, System.out);
        }
    }

    /** The fabric options of a bill of materials. */
    static final class Fabric {
        @Option(names = "--gpus-per-server", paramLabel = "N", description = "Accelerators per server (default: the catalogue server's).")
        String gpusPerServer;

        @Option(names = "--switch-ports", paramLabel = "K", description = "Switch radix (default: the --switch's ports, else 64).")
        String switchPorts;

        @Option(names = "--link", paramLabel = "SPEED", description = "Link speed per NIC port: 200g, 400g, 800g, 1.6t (default: the --switch's port speed, else 400g).")
        String link;

        @Option(names = "--switch", paramLabel = "ID", description = "A catalogue switch (default: one matching --switch-ports and --link).")
        String switchId;

        @Option(names = "--servers-per-rack", paramLabel = "N", description = "Servers per compute rack (default: as many as fit in --rack-units).")
        String serversPerRack;

        @Option(names = "--rack-units", paramLabel = "U", defaultValue = "40", description = "Usable rack units per rack (default: ${DEFAULT-VALUE}).")
        String rackUnits;

        @Option(names = "--air-max-kw", paramLabel = "KW", defaultValue = "45", description = "Densest rack still air-cooled, kW (default: ${DEFAULT-VALUE}).")
        String airMaxKw;

        @Option(names = "--copper", paramLabel = "LINKS", defaultValue = "none", description = "Links counted as copper DAC: none or server-leaf (default: ${DEFAULT-VALUE}).")
        String copper;

        ClusterPlan.Input input(long gpus, Accelerator gpu, Catalogue cat, double pue) {
            Server server = cat.serverFor(gpu.id()).orElse(null);
            Integer gps = gpusPerServer == null ? null : intOf(gpusPerServer, "--gpus-per-server");
            if (gps == null && server == null)
                throw new IllegalArgumentException("--gpus-per-server is required: the catalogue has no server for " + gpu.id());
            Switch sw = null;
            Integer k = switchPorts == null ? null : intOf(switchPorts, "--switch-ports");
            Double speed = link == null ? null : Quantity.linkGbps(link, "--link");
            if (switchId != null) {
                try {
                    sw = cat.switchById(switchId);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--switch: " + e.getMessage());
                }
                if (k != null && k != sw.ports())
                    throw new IllegalArgumentException("--switch-ports " + k + " disagrees with --switch " + sw.id() + " (" + sw.ports() + " ports): give one of them");
                if (speed != null && speed != sw.portSpeedGbps())
                    throw new IllegalArgumentException("--link " + link + " disagrees with --switch " + sw.id() + " (" + (long) sw.portSpeedGbps() + "G ports): give one of them");
                k = sw.ports();
                speed = sw.portSpeedGbps();
            } else {
                if (k == null) k = 64;
                if (speed == null) speed = 400.0;
                sw = cat.switchFor(k, speed).orElse(null);
            }
            ClusterPlan.Copper cu = switch (copper.strip().toLowerCase(Locale.ROOT)) {
                case "none" -> ClusterPlan.Copper.NONE;
                case "server-leaf" -> ClusterPlan.Copper.SERVER_LEAF;
                default -> throw new IllegalArgumentException("--copper: expected none or server-leaf, got '" + copper + "'");
            };
            return new ClusterPlan.Input(gpus, gpu, server, gps, k, speed, sw, pue,
                    serversPerRack == null ? null : intOf(serversPerRack, "--servers-per-rack"),
                    intOf(rackUnits, "--rack-units"), Quantity.positive(airMaxKw, "--air-max-kw"), cu);
        }
    }

    static int intOf(String text, String flag) {
        long v = Quantity.count(text, flag);
        if (v > Integer.MAX_VALUE) throw new IllegalArgumentException(flag + " is too large: " + text);
        return (int) v;
    }

    static Accelerator accelerator(Catalogue cat, String id) {
        try {
            return cat.accelerator(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--gpu: " + e.getMessage());
        }
    }

    static Double optPositive(String text, String flag) {
        return text == null ? null : Quantity.positive(text, flag);
    }

    static double pue(String text) {
        double p = Quantity.parse(text, "--pue");
        if (!(p >= 1)) throw new IllegalArgumentException("--pue must be at least 1.0, got " + text);
        return p;
    }

    @Command(name = "train", description = {
            "Training compute: FLOPs (6*P*T, or 8*P*T with --recompute), wall-clock days, GPU-hours, energy and cost;",
            "with --days instead of --gpus, the GPU count that finishes in that time."})
    static final class Train implements Callable<Integer> {
        @Option(names = "--params", required = true, paramLabel = "P", description = "Model parameters, e.g. 175B or 175e9.")
        String params;

        @Option(names = "--tokens", required = true, paramLabel = "T", description = "Training tokens, e.g. 300B.")
        String tokens;

        @Option(names = "--gpu", required = true, paramLabel = "ID", description = "Accelerator id from the catalogue (see: genset plan hardware).")
        String gpu;

        @Option(names = "--gpus", paramLabel = "N", description = "Number of GPUs.")
        String gpus;

        @Option(names = "--days", paramLabel = "D", description = "Solve for the GPU count that trains in D days.")
        String days;

        @Option(names = "--mfu", paramLabel = "M", description = "Model FLOPs utilization of the dense BF16 peak (default 0.4 when --tflops is not given).")
        String mfu;

        @Option(names = "--tflops", paramLabel = "X", description = "Achieved TFLOP/s per GPU (overrides --mfu).")
        String tflops;

        @Option(names = "--recompute", description = "Count 8*P*T: activation recomputation adds a forward pass (Narayanan et al. 2021).")
        boolean recompute;

        @Option(names = "--pue", defaultValue = "1.3", paramLabel = "P", description = "Power usage effectiveness (default: ${DEFAULT-VALUE}).")
        String pue;

        @Option(names = "--price-per-gpu-hour", paramLabel = "C", description = "Price of one GPU-hour, for the cost.")
        String price;

        @Option(names = "--price-per-kwh", paramLabel = "C", description = "Price of one kWh, for the facility energy cost.")
        String pricePerKwh;

        @Option(names = "--bom", description = "Add the cluster's bill of materials, and count network power in the energy.")
        boolean bom;

        @Mixin Fabric fabric;
        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            Catalogue cat = output.load();
            Accelerator acc = accelerator(cat, gpu);
            if (tflops != null && mfu != null) throw new IllegalArgumentException("give --mfu or --tflops, not both");
            Double tf = optPositive(tflops, "--tflops");
            Double m = tf != null ? null : mfu != null ? Quantity.positive(mfu, "--mfu") : 0.4;
            if (m != null && m > 1) throw new IllegalArgumentException("--mfu must be at most 1, got " + mfu);
            Double price0 = price == null ? null : Quantity.parse(price, "--price-per-gpu-hour");
            Double kwh = pricePerKwh == null ? null : Quantity.parse(pricePerKwh, "--price-per-kwh");
            Server server = cat.serverFor(acc.id()).orElse(null);
            var in = new TrainPlan.Input(Quantity.positive(params, "--params"), Quantity.positive(tokens, "--tokens"), acc, server,
                    gpus == null ? null : Quantity.count(gpus, "--gpus"), optPositive(days, "--days"), m, tf, recompute, pue(pue), price0, kwh);
            Working w = TrainPlan.plan(in);
            if (mfu == null && tflops == null) w.note("No --mfu or --tflops: assumed MFU 0.4 of the dense BF16 peak.");
            if (bom) {
                long n = (long) w.number("gpus");
                TrainPlan.withBom(w, in, ClusterPlan.plan(fabric.input(n, acc, cat, in.pue()), cat));
            }
            output.print(w);
            return 0;
        }
    }

    @Command(name = "serve", description = {
            "Serving capacity: weight and KV-cache memory, GPUs per replica, decode and prefill ceilings,",
            "and the replicas and GPUs a request rate needs (Little's law)."})
    static final class Serve implements Callable<Integer> {
        @Option(names = "--gguf", paramLabel = "FILE", description = "Read the model's shape from a GGUF file.")
        Path gguf;

        @Option(names = "--preset", paramLabel = "NAME", description = "A known model: ${COMPLETION-CANDIDATES}.", completionCandidates = Presets.class)
        String preset;

        @Option(names = "--params", paramLabel = "P", description = "Parameters (with --layers, --kv-heads, --head-dim).")
        String params;

        @Option(names = "--active-params", paramLabel = "P", description = "Parameters active per token, for a mixture of experts (default: --params).")
        String activeParams;

        @Option(names = "--layers", paramLabel = "L", description = "Transformer layers.")
        String layers;

        @Option(names = "--kv-heads", paramLabel = "H", description = "Key/value heads (not query heads).")
        String kvHeads;

        @Option(names = "--head-dim", paramLabel = "D", description = "Dimension of one head.")
        String headDim;

        @Option(names = "--precision", required = true, paramLabel = "P", description = "Weight precision: bf16, fp16, fp8, int8, int4.")
        String precision;

        @Option(names = "--kv-precision", defaultValue = "bf16", paramLabel = "P", description = "KV-cache precision (default: ${DEFAULT-VALUE}).")
        String kvPrecision;

        @Option(names = "--qps", required = true, paramLabel = "Q", description = "Requests per second.")
        String qps;

        @Option(names = "--prompt-tokens", required = true, paramLabel = "I", description = "Prompt tokens per request.")
        String promptTokens;

        @Option(names = "--output-tokens", required = true, paramLabel = "O", description = "Generated tokens per request.")
        String outputTokens;

        @Option(names = "--context", paramLabel = "C", description = "KV-cache context reserved per sequence (default: prompt + output tokens).")
        String context;

        @Option(names = "--gpu", defaultValue = "h100-sxm", paramLabel = "ID", description = "Accelerator id (default: ${DEFAULT-VALUE}).")
        String gpu;

        @Option(names = "--overhead", defaultValue = "0.1", paramLabel = "F", description = "Fraction of memory kept for activations and runtime (default: ${DEFAULT-VALUE}).")
        String overhead;

        @Option(names = "--max-batch", defaultValue = "256", paramLabel = "B", description = "Most sequences a replica decodes together (default: ${DEFAULT-VALUE}).")
        String maxBatch;

        @Option(names = "--efficiency", defaultValue = "1.0", paramLabel = "E", description = "Fraction of peak bandwidth and FLOPs reached (default: ${DEFAULT-VALUE}, the ceiling).")
        String efficiency;

        @Option(names = "--pue", defaultValue = "1.3", paramLabel = "P", description = "Power usage effectiveness, for --bom (default: ${DEFAULT-VALUE}).")
        String pue;

        @Option(names = "--bom", description = "Add the cluster's bill of materials for the GPUs needed.")
        boolean bom;

        @Mixin Fabric fabric;
        @Mixin Output output;

        static final class Presets implements Iterable<String> {
            @Override
            public java.util.Iterator<String> iterator() { return ModelShape.presetNames().iterator(); }
        }

        @Override
        public Integer call() throws Exception {
            Catalogue cat = output.load();
            Accelerator acc = accelerator(cat, gpu);
            ModelShape shape = shape();
            Precision p = Precision.parse(precision, "--precision");
            Precision kv = Precision.parse(kvPrecision, "--kv-precision");
            int maxTp = cat.serverFor(acc.id()).map(Server::acceleratorsPerServer).orElse(8);
            double ovh = Quantity.parse(overhead, "--overhead");
            var in = new ServePlan.Input(shape, p, kv, Quantity.positive(qps, "--qps"), Quantity.count(promptTokens, "--prompt-tokens"),
                    Quantity.count(outputTokens, "--output-tokens"), context == null ? null : Quantity.count(context, "--context"),
                    acc, ovh, intOf(maxBatch, "--max-batch"), Quantity.positive(efficiency, "--efficiency"), maxTp);
            Working w = ServePlan.plan(in);
            if (bom) {
                long n = (long) w.number("gpus");
                w.include(ClusterPlan.plan(fabric.input(n, acc, cat, pue(pue)), cat), "bom.");
            }
            output.print(w);
            return 0;
        }

        private ModelShape shape() throws Exception {
            int sources = (gguf != null ? 1 : 0) + (preset != null ? 1 : 0) + (params != null ? 1 : 0);
            if (sources != 1) throw new IllegalArgumentException("name the model once: --gguf FILE, --preset NAME, or --params P --layers L --kv-heads H --head-dim D");
            if (gguf != null) return ModelShape.fromGguf(gguf);
            if (preset != null) return ModelShape.preset(preset);
            if (layers == null || kvHeads == null || headDim == null)
                throw new IllegalArgumentException("--params needs --layers, --kv-heads and --head-dim");
            double p = Quantity.positive(params, "--params");
            ModelShape s = ModelShape.gqa("custom", p, intOf(layers, "--layers"), intOf(kvHeads, "--kv-heads"), intOf(headDim, "--head-dim"), 0,
                    "--params, --layers, --kv-heads, --head-dim");
            if (activeParams == null) return s;
            double a = Quantity.positive(activeParams, "--active-params");
            if (a > p) throw new IllegalArgumentException("--active-params must not exceed --params");
            return new ModelShape(s.name(), p, a, s.layers(), s.kvHeads(), s.headDim(), s.kvValuesPerLayer(), s.kvHow(), 0, s.source());
        }
    }

    @Command(name = "cluster", description = {
            "A cluster's bill of materials: servers, racks, a non-blocking fat-tree fabric (leaf, spine, core switches),",
            "cables and optical transceivers by speed, IT and facility power, air or liquid cooling."})
    static final class Cluster implements Callable<Integer> {
        @Option(names = "--gpus", required = true, paramLabel = "N", description = "Number of GPUs.")
        String gpus;

        @Option(names = "--gpu", required = true, paramLabel = "ID", description = "Accelerator id from the catalogue.")
        String gpu;

        @Option(names = "--pue", defaultValue = "1.3", paramLabel = "P", description = "Power usage effectiveness (default: ${DEFAULT-VALUE}).")
        String pue;

        @Mixin Fabric fabric;
        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            Catalogue cat = output.load();
            Accelerator acc = accelerator(cat, gpu);
            output.print(ClusterPlan.plan(fabric.input(Quantity.count(gpus, "--gpus"), acc, cat, pue(pue)), cat));
            return 0;
        }
    }

    @Command(name = "hardware", description = "List the catalogue: accelerators (dense figures), servers, switches, transceivers, each with its source.")
    static final class Hardware implements Callable<Integer> {
        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            Catalogue cat = output.load();
            if (output.json) {
                System.out.println(new com.fasterxml.jackson.databind.ObjectMapper()
                        .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
                        .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(cat));
                return 0;
            }
            var out = System.out;
            out.println("accelerators (dense tensor throughput, no sparsity):");
            out.printf("  %-12s %9s %9s %9s %9s %8s %10s %6s%n", "id", "bf16 TF", "fp16 TF", "fp8 TF", "int8 TOPS", "mem GB", "mem GB/s", "TDP W");
            for (Accelerator a : cat.accelerators())
                out.printf("  %-12s %9s %9s %9s %9s %8s %10s %6s%n", a.id(), n(a.bf16Tflops()), n(a.fp16Tflops()), n(a.fp8Tflops()), n(a.int8Tops()),
                        n(a.memoryGb()), n(a.memoryBandwidthGbs()), n(a.tdpW()));
            out.println("\nservers:");
            for (Server s : cat.servers())
                out.printf("  %-14s %d x %-12s %6s kW %3d U%n", s.id(), s.acceleratorsPerServer(), s.accelerator(), n(s.systemPowerKw()), s.rackUnits());
            out.println("\nswitches:");
            for (Switch s : cat.switches())
                out.printf("  %-8s %4d x %sG  %s W%n", s.id(), s.ports(), n(s.portSpeedGbps()), n(s.powerW()));
            out.println("\ntransceivers:");
            for (var t : cat.transceivers())
                out.printf("  %-16s %6sG  %s W%n", t.id(), n(t.speedGbps()), n(t.powerW()));
            out.println("\nsources:");
            cat.sources().forEach((id, src) -> out.println("  " + id + ": " + src));
            for (String note : cat.notes()) out.println("note: " + note);
            return 0;
        }

        private static String n(Double v) {
            return v == null ? "-" : Optional.of(v).map(dev.genset.plan.Fmt::num).get();
        }
    }
}
