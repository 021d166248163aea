package dev.genset.plan;

import dev.genset.plan.ClusterPlan.FatTree;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Fat-tree counts worked by hand. A k-port switch below the top tier uses k/2 ports down and k/2 up;
 * two tiers reach k^2/2 endpoints, three reach k^3/4 (Al-Fares, Loukissas and Vahdat 2008, "A
 * Scalable, Commodity Data Center Network Architecture").
 */
class ClusterPlanTest {
    static final Catalogue CAT = Catalogue.bundled();

    static Working plan(long gpus, String gpu, ClusterPlan.Copper copper) {
        var acc = CAT.accelerator(gpu);
        return ClusterPlan.plan(new ClusterPlan.Input(gpus, acc, CAT.serverFor(gpu).orElseThrow(), null, 64, 400,
                CAT.switchFor(64, 400).orElseThrow(), 1.3, null, 40, 45, copper), CAT);
    }

    @Test
    void smallClusterTwoTiersByHand() {
        // 1024 GPUs, 64-port switches: 1024 <= 64^2/2 = 2048, two tiers.
        // leaves = 1024 / 32 = 32; each leaf has 32 uplinks: 32 * 32 = 1024 uplinks over 64-port spines = 16.
        FatTree ft = FatTree.of(1024, 64);
        assertThat(ft.tiers()).isEqualTo(2);
        assertThat(ft.leaves()).isEqualTo(32);
        assertThat(ft.spines()).isEqualTo(16);
        assertThat(ft.cores()).isZero();
        assertThat(ft.leafSpineLinks()).isEqualTo(1024);
        // The largest two-tier tree: 2048 endpoints, 64 leaves, 32 spines.
        assertThat(FatTree.of(2048, 64)).isEqualTo(new FatTree(2, 64, 32, 0, 2048, 2048, 0));
    }

    @Test
    void largeClusterThreeTiersByHand() {
        // 16384 GPUs: 2048 < 16384 <= 64^3/4 = 65536, three tiers.
        // leaves = 16384 / 32 = 512 (16 pods of 32 leaves); spines = 512 (32 per pod);
        // cores = 512 spines * 32 uplinks / 64 ports = 256.
        FatTree ft = FatTree.of(16384, 64);
        assertThat(ft.tiers()).isEqualTo(3);
        assertThat(ft.leaves()).isEqualTo(512);
        assertThat(ft.spines()).isEqualTo(512);
        assertThat(ft.cores()).isEqualTo(256);
        assertThat(ft.switches()).isEqualTo(1280);
        // The full k = 64 tree: k^2/2 = 2048 edge, 2048 aggregation and k^2/4 = 1024 core switches.
        assertThat(FatTree.of(65536, 64)).extracting(FatTree::leaves, FatTree::spines, FatTree::cores).containsExactly(2048L, 2048L, 1024L);
        assertThatThrownBy(() -> FatTree.of(65537, 64)).hasMessageContaining("more than three tiers");
    }

    @Test
    void oneSwitchWhenEveryPortFits() {
        assertThat(FatTree.of(64, 64)).isEqualTo(new FatTree(1, 1, 0, 0, 64, 0, 0));
        assertThat(FatTree.of(65, 64).tiers()).isEqualTo(2);
    }

    @Test
    void billOfMaterialsFor128A100sByHand() {
        // 128 A100s = 16 DGX A100 (single-port 400G NIC cages); QM9700 has twin-port cages (one 800G module per two ports).
        Working w = plan(128, "a100-80g", ClusterPlan.Copper.NONE);
        assertThat(w.number("servers")).isEqualTo(16);
        assertThat(w.number("leaf_switches")).isEqualTo(4);   // 128 / 32
        assertThat(w.number("spine_switches")).isEqualTo(2);  // 4 * 32 / 64
        // server end: 128 x 400G; leaf end: 128 / 2 = 64 x 800G; leaf-spine: 128 links, 2 ends * 64 = 128 x 800G.
        assertThat(w.number("transceivers_400g")).isEqualTo(128);
        assertThat(w.number("transceivers_800g")).isEqualTo(192);
        assertThat(w.number("transceivers")).isEqualTo(320);
        assertThat(w.number("cables_fibre")).isEqualTo(256);
        // Power: 16 * 6.5 kW + 6 switches * 747 W + switch-side optics 192 * 17 W (the NIC-side modules are in server power).
        double itKw = 16 * 6.5 + (6 * 747 + 192 * 17) / 1000.0;
        assertThat(w.number("it_kw")).isCloseTo(itKw, within(1e-9));
        assertThat(w.number("facility_kw")).isCloseTo(itKw * 1.3, within(1e-9));
        // 6 DGX A100 (6U) per 40U rack: 39 kW, air-cooled.
        assertThat(w.number("servers_per_rack")).isEqualTo(6);
        assertThat(w.get("cooling").value()).isEqualTo("air");
    }

    @Test
    void dgxH100UsesTwinPortNicCagesAndCopperOption() {
        // 1024 H100 = 128 DGX H100 with 4 twin-port OSFP per server: 512 x 800G at the servers, 512 at the leaves,
        // and 1024 leaf-spine links / 2 per module * 2 ends = 1024: 2048 x 800G in all.
        Working w = plan(1024, "h100-sxm", ClusterPlan.Copper.NONE);
        assertThat(w.number("transceivers_800g")).isEqualTo(2048);
        assertThat(w.has("transceivers_400g")).isFalse();
        assertThat(w.get("cooling").value()).isEqualTo("liquid"); // 5 x 10.2 kW = 51 kW per rack
        Working cu = plan(1024, "h100-sxm", ClusterPlan.Copper.SERVER_LEAF);
        assertThat(cu.number("cables_dac")).isEqualTo(1024);
        assertThat(cu.number("transceivers")).isEqualTo(1024);
    }

    @Test
    void rejectsOddRadixAndBadCounts() {
        var acc = CAT.accelerator("h100-sxm");
        assertThatThrownBy(() -> new ClusterPlan.Input(0, acc, null, 8, 64, 400, null, 1.3, null, 40, 45, ClusterPlan.Copper.NONE))
                .hasMessageContaining("--gpus");
        assertThatThrownBy(() -> new ClusterPlan.Input(8, acc, null, 8, 63, 400, null, 1.3, null, 40, 45, ClusterPlan.Copper.NONE))
                .hasMessageContaining("--switch-ports");
    }
}
