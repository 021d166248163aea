package dev.genset.plan;

import dev.genset.plan.Catalogue.Accelerator;
import dev.genset.plan.Catalogue.Server;
import dev.genset.plan.Catalogue.Switch;
import dev.genset.plan.Catalogue.Transceiver;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bill of materials for a GPU cluster: servers, racks, a non-blocking fat-tree compute fabric
 * (one NIC port per GPU), cables, optical transceivers, power and cooling.
 *
 * <p>The fabric, for N endpoints and k-port switches (each switch below the top uses k/2 ports down
 * and k/2 up, so every tier carries the full bisection bandwidth):
 * <ul>
 *   <li>one switch when N ≤ k;</li>
 *   <li>two tiers (leaf, spine) while N ≤ k²/2: leaves = ⌈N/(k/2)⌉, spines = ⌈leaves·(k/2)/k⌉;</li>
 *   <li>three tiers (leaf, spine, core) while N ≤ k³/4: leaves = ⌈N/(k/2)⌉, spines = leaves (each pod
 *       of up to k/2 leaves has as many spines), cores = ⌈spines·(k/2)/k⌉ (Al-Fares et al. 2008).</li>
 * </ul>
 * Every leaf and spine is cabled with all k/2 uplinks, so a partly filled leaf keeps room to grow.
 */
public final class ClusterPlan {
    private ClusterPlan() {}

    /** Where links are copper. */
    public enum Copper { NONE, SERVER_LEAF }

    /**
     * @param server          the server model, or null for a generic server of {@code gpusPerServer} GPUs
     * @param gpusPerServer   accelerators per server (the server's figure when null)
     * @param sw              the switch model, or null for a generic k-port switch at {@code linkGbps}
     * @param serversPerRack  servers per compute rack, or null to pack by rack space ({@code rackUnits} usable)
     */
    public record Input(long gpus, Accelerator gpu, Server server, Integer gpusPerServer, int switchPorts, double linkGbps,
                        Switch sw, double pue, Integer serversPerRack, int rackUnits, double airMaxKw, Copper copper) {
        public Input {
            if (gpus < 1) throw new IllegalArgumentException("--gpus must be at least 1");
            if (switchPorts < 2 || switchPorts % 2 != 0) throw new IllegalArgumentException("--switch-ports must be an even number of at least 2, got " + switchPorts);
            if (!(linkGbps > 0)) throw new IllegalArgumentException("--link must be greater than zero");
            if (gpusPerServer != null && gpusPerServer < 1) throw new IllegalArgumentException("--gpus-per-server must be at least 1");
            if (server == null && gpusPerServer == null) throw new IllegalArgumentException("--gpus-per-server is required: no server for this accelerator in the catalogue");
            if (serversPerRack != null && serversPerRack < 1) throw new IllegalArgumentException("--servers-per-rack must be at least 1");
            if (!(pue >= 1)) throw new IllegalArgumentException("--pue must be at least 1.0");
            if (rackUnits < 1) throw new IllegalArgumentException("rack units must be at least 1");
            if (!(airMaxKw > 0)) throw new IllegalArgumentException("--air-max-kw must be greater than zero");
        }
    }

    /** Switch counts of a non-blocking fat tree of {@code k}-port switches with {@code endpoints} endpoints. */
    public record FatTree(int tiers, long leaves, long spines, long cores, long endpointLinks, long leafSpineLinks, long spineCoreLinks) {
        public long switches() { return leaves + spines + cores; }

        public static FatTree of(long endpoints, int k) {
            long half = k / 2;
            if (endpoints <= k) return new FatTree(1, 1, 0, 0, endpoints, 0, 0);
            long leaves = TrainPlan.ceilDiv(endpoints, half);
            if (endpoints <= half * k) {
                long spines = TrainPlan.ceilDiv(leaves * half, k);
                return new FatTree(2, leaves, spines, 0, endpoints, leaves * half, 0);
            }
            if (endpoints <= half * half * k) {
                long spines = leaves;
                long cores = TrainPlan.ceilDiv(spines * half, k);
                return new FatTree(3, leaves, spines, cores, endpoints, leaves * half, spines * half);
            }
            throw new IllegalArgumentException("--gpus: " + endpoints + " endpoints need more than three tiers of " + k
                    + "-port switches (three tiers reach k^3/4 = " + half * half * k + "); use bigger switches (--switch-ports)");
        }
    }

    public static Working plan(Input in, Catalogue cat) {
        Working w = new Working("cluster bill of materials");
        Server srv = in.server();
        int gps = in.gpusPerServer() != null ? in.gpusPerServer() : srv.acceleratorsPerServer();
        w.input("gpus", "GPUs", in.gpus(), "", "--gpus");
        w.input("gpu", "accelerator", in.gpu().id(), "", in.gpu().name());
        w.input("server", "server", srv != null ? srv.id() : "generic", "", srv != null ? srv.name() + "; " + srv.source() : "no catalogue server: generic");
        w.input("gpus_per_server", "GPUs per server", (long) gps, "", in.gpusPerServer() != null ? "--gpus-per-server" : srv.id());
        long servers = w.count("servers", "servers", TrainPlan.ceilDiv(in.gpus(), gps), "", "ceil(gpus / gpus_per_server)",
                "ceil(" + in.gpus() + " / " + gps + ")");
        long endpoints = w.count("fabric_ports", "compute-fabric NIC ports", servers * gps, "", "servers * gpus_per_server  [one NIC port per GPU]",
                servers + " * " + gps);

        // Servers and racks.
        double serverKw;
        String serverKwWhy;
        if (srv != null && srv.acceleratorsPerServer() == gps) {
            serverKw = srv.systemPowerKw();
            serverKwWhy = srv.id() + " system_power_kw";
        } else {
            serverKw = gps * in.gpu().tdpW() / 1000 * 1.5;
            serverKwWhy = "estimate: gpus_per_server * tdp_w * 1.5 (host, NICs, fans)";
            w.note("Server power is estimated as 1.5x the accelerators' TDP: no catalogue server with " + gps + " x " + in.gpu().id() + ".");
        }
        w.input("server_kw", "server power", serverKw, "kW", serverKwWhy);
        int ru = srv != null && srv.rackUnits() > 0 ? srv.rackUnits() : Math.max(2, gps);
        long perRack;
        if (in.serversPerRack() != null) {
            perRack = w.count("servers_per_rack", "servers per rack", in.serversPerRack(), "", "", "--servers-per-rack");
        } else {
            perRack = w.count("servers_per_rack", "servers per rack", Math.max(1, in.rackUnits() / ru), "",
                    "max(1, floor(usable_rack_units / server_rack_units))", "floor(" + in.rackUnits() + " / " + ru + ")");
        }
        long computeRacks = w.count("compute_racks", "compute racks", TrainPlan.ceilDiv(servers, perRack), "", "ceil(servers / servers_per_rack)",
                "ceil(" + servers + " / " + perRack + ")");
        double rackKw = w.calc("rack_kw", "power per compute rack", Math.min(perRack, servers) * serverKw, "kW",
                "min(servers_per_rack, servers) * server_kw", Math.min(perRack, servers) + " * " + Fmt.num(serverKw));
        boolean liquid = rackKw > in.airMaxKw();
        w.fact("cooling", "cooling", liquid ? "liquid" : "air", "", "liquid if rack_kw > air_max_kw, else air",
                Fmt.num(rackKw) + (liquid ? " > " : " <= ") + Fmt.num(in.airMaxKw()));
        w.note("Air cooling is planned up to " + Fmt.num(in.airMaxKw()) + " kW per rack (--air-max-kw; hot-aisle containment reaches about 40-45 kW,"
                + " the DGX H100 SuperPOD air-cools 4 systems, about 41 kW, per rack); denser racks need direct liquid cooling.");

        // Fabric.
        int k = in.switchPorts();
        Switch sw = in.sw();
        w.input("switch", "switch", sw != null ? sw.id() : "generic", "", sw != null ? sw.name() + "; " + sw.source()
                : "no catalogue switch with " + k + " x " + Fmt.num(in.linkGbps()) + "G ports: generic, power unknown");
        w.input("switch_ports", "switch radix (k)", (long) k, "", "--switch-ports or the switch's ports");
        w.input("link_gbps", "link speed", in.linkGbps(), "Gb/s", "--link or the switch's port speed");
        FatTree ft = FatTree.of(endpoints, k);
        long half = k / 2;
        String tierWhy = switch (ft.tiers()) {
            case 1 -> endpoints + " <= k = " + k;
            case 2 -> endpoints + " <= k^2/2 = " + half * k;
            default -> half * k + " < " + endpoints + " <= k^3/4 = " + half * half * k;
        };
        w.count("tiers", "fat-tree tiers", ft.tiers(), "", "1 if N <= k; 2 if N <= k^2/2; 3 if N <= k^3/4", tierWhy);
        w.count("leaf_switches", "leaf switches", ft.leaves(), "",
                ft.tiers() == 1 ? "1 (one switch holds every port)" : "ceil(N / (k/2))",
                ft.tiers() == 1 ? "1" : "ceil(" + endpoints + " / " + half + ")");
        w.count("spine_switches", "spine switches", ft.spines(), "",
                ft.tiers() == 1 ? "0" : ft.tiers() == 2 ? "ceil(leaves * (k/2) / k)" : "leaves  [each pod: as many spines as leaves]",
                ft.tiers() == 1 ? "0" : ft.tiers() == 2 ? "ceil(" + ft.leaves() + " * " + half + " / " + k + ")" : String.valueOf(ft.leaves()));
        w.count("core_switches", "core switches", ft.cores(), "", ft.tiers() == 3 ? "ceil(spines * (k/2) / k)" : "0 (no third tier)",
                ft.tiers() == 3 ? "ceil(" + ft.spines() + " * " + half + " / " + k + ")" : "0");
        long switches = w.count("switches", "switches", ft.switches(), "", "leaves + spines + cores",
                ft.leaves() + " + " + ft.spines() + " + " + ft.cores());
        int swRu = sw != null && sw.rackUnits() != null ? sw.rackUnits() : 1;
        long netRacks = w.count("network_racks", "network racks", TrainPlan.ceilDiv(switches * swRu, in.rackUnits()), "",
                "ceil(switches * switch_rack_units / usable_rack_units)", "ceil(" + switches + " * " + swRu + " / " + in.rackUnits() + ")");
        w.count("racks", "racks", computeRacks + netRacks, "", "compute_racks + network_racks", computeRacks + " + " + netRacks);

        // Links, cables, transceivers.
        boolean dac = in.copper() == Copper.SERVER_LEAF;
        w.count("links_server_leaf", "server-leaf links", ft.endpointLinks(), "", "N (one per NIC port)", String.valueOf(ft.endpointLinks()));
        w.count("links_leaf_spine", "leaf-spine links", ft.leafSpineLinks(), "", ft.tiers() >= 2 ? "leaves * k/2" : "0 (one switch)",
                ft.tiers() >= 2 ? ft.leaves() + " * " + half : "0");
        w.count("links_spine_core", "spine-core links", ft.spineCoreLinks(), "", ft.tiers() == 3 ? "spines * k/2" : "0 (no third tier)",
                ft.tiers() == 3 ? ft.spines() + " * " + half : "0");
        long copperCables = dac ? ft.endpointLinks() : 0;
        long fibreCables = ft.endpointLinks() + ft.leafSpineLinks() + ft.spineCoreLinks() - copperCables;
        w.count("cables_dac", "copper (DAC) cables", copperCables, "", dac ? "server-leaf links (--copper server-leaf)" : "0 (all links optical)",
                String.valueOf(copperCables));
        w.count("cables_fibre", "optical fibre cables", fibreCables, "", "all links - DAC links",
                (ft.endpointLinks() + ft.leafSpineLinks() + ft.spineCoreLinks()) + " - " + copperCables);
        w.note(dac ? "Server-to-leaf links are copper DAC (leaf switches at the top of each rack, within ~3 m); switch-to-switch links are optical."
                : "Every compute-fabric link is optical: as in the DGX SuperPOD design, leaf switches sit in network racks beyond passive-copper"
                + " reach (~3 m at 400G); --copper server-leaf counts server-leaf links as DAC instead.");

        int swCage = sw != null ? sw.cage() : 1;
        int nicCage = srv != null && srv.acceleratorsPerServer() == gps ? srv.nicCage() : 1;
        double nicModule = in.linkGbps() * nicCage, swModule = in.linkGbps() * swCage;
        Map<Double, Long> modules = new TreeMap<>();
        StringBuilder how = new StringBuilder();
        if (!dac) {
            long nicEnd = servers * TrainPlan.ceilDiv(gps, nicCage);
            long leafEnd = TrainPlan.ceilDiv(ft.endpointLinks(), swCage);
            modules.merge(nicModule, nicEnd, Long::sum);
            modules.merge(swModule, leafEnd, Long::sum);
            how.append("server end: servers * ceil(gpus_per_server / ").append(nicCage).append(") = ").append(nicEnd).append(" x ").append(label(nicModule))
                    .append("; leaf end: ceil(").append(ft.endpointLinks()).append(" / ").append(swCage).append(") = ").append(leafEnd).append(" x ").append(label(swModule));
        }
        long interSwitch = ft.leafSpineLinks() + ft.spineCoreLinks();
        if (interSwitch > 0) {
            long both = 2 * TrainPlan.ceilDiv(interSwitch, swCage);
            modules.merge(swModule, both, Long::sum);
            if (!how.isEmpty()) how.append("; ");
            how.append("switch-switch: 2 ends * ceil(").append(interSwitch).append(" / ").append(swCage).append(") = ").append(both).append(" x ").append(label(swModule));
        }
        long total = 0;
        double moduleW = 0, switchSideW = 0;
        StringBuilder unknown = new StringBuilder();
        for (Map.Entry<Double, Long> e : modules.entrySet()) {
            Optional<Transceiver> t = cat.transceiverFor(e.getKey());
            total += e.getValue();
            String key = "transceivers_" + label(e.getKey()).toLowerCase(java.util.Locale.ROOT).replace('.', '_');
            w.count(key, label(e.getKey()) + " transceivers", e.getValue(), "", "modules of this speed at both ends of optical links",
                    t.map(x -> x.id() + ", " + (x.powerW() == null ? "power unknown" : Fmt.num(x.powerW()) + " W") + "; " + x.source())
                            .orElse("no catalogue transceiver at this speed: power unknown"));
            if (t.isPresent() && t.get().powerW() != null) {
                double wt = e.getValue() * t.get().powerW();
                moduleW += wt;
                // Modules in the servers' own cages are inside the servers' system power.
                long serverSide = !dac && e.getKey() == nicModule ? servers * TrainPlan.ceilDiv(gps, nicCage) : 0;
                switchSideW += (e.getValue() - serverSide) * t.get().powerW();
            } else {
                unknown.append(label(e.getKey())).append(' ');
            }
        }
        w.count("transceivers", "optical transceivers", total, "", "sum of the modules by speed", how.isEmpty() ? "0 (no optical links)" : how.toString());
        if (swCage > 1 || nicCage > 1)
            w.note("A twin-port OSFP module carries two links: switches with twin-port cages (and servers like DGX H100 with twin-port NIC cages)"
                    + " take one 2x module per two links, so those module counts are half the link-end counts.");
        if (!unknown.isEmpty()) w.note("Transceiver power unknown for " + unknown.toString().strip() + ": not counted in IT power.");

        // Power.
        double serversKw = servers * serverKw;
        double swW = sw != null && sw.powerW() != null ? sw.powerW() : 0;
        if (sw == null || sw.powerW() == null) w.note("Switch power unknown: not counted in IT power.");
        double networkKw = w.calc("network_kw", "network power", (switches * swW + switchSideW) / 1000, "kW",
                "(switches * switch_w + switch-side transceiver W) / 1000  [server-side modules are in server power]",
                "(" + switches + " * " + Fmt.num(swW) + " + " + Fmt.num(switchSideW) + ") / 1000");
        w.calc("transceiver_kw", "all transceivers' power", moduleW / 1000, "kW", "sum(count * power_w) / 1000", Fmt.num(moduleW) + " / 1000");
        double itKw = w.calc("it_kw", "IT power", serversKw + networkKw, "kW", "servers * server_kw + network_kw",
                servers + " * " + Fmt.num(serverKw) + " + " + Fmt.num(networkKw));
        w.input("pue", "PUE", in.pue(), "", "--pue");
        w.calc("facility_kw", "facility power", itKw * in.pue(), "kW", "it_kw * pue", Fmt.num(itKw) + " * " + Fmt.num(in.pue()));
        return w;
    }

    static String label(double gbps) {
        if (gbps >= 1000) {
            double t = gbps / 1000;
            return (t == Math.rint(t) ? String.valueOf((long) t) : String.valueOf(t)) + "T";
        }
        return (gbps == Math.rint(gbps) ? String.valueOf((long) gbps) : String.valueOf(gbps)) + "G";
    }
}
