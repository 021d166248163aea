package dev.genset.plan;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CatalogueTest {
    @Test
    void bundledCatalogueHasTheRequiredPartsEachWithASource() {
        Catalogue c = Catalogue.bundled();
        for (String id : List.of("h100-sxm", "h200", "h20", "a100-80g", "l40s", "mi300x", "ascend-910b")) {
            var a = c.accelerator(id);
            assertThat(a.source()).as(id).isNotBlank();
            assertThat(a.bf16Tflops()).as(id).isPositive();
            assertThat(a.memoryGb()).as(id).isPositive();
            assertThat(a.memoryBandwidthGbs()).as(id).isPositive();
            assertThat(a.tdpW()).as(id).isPositive();
            assertThat(c.serverFor(id)).as(id).isPresent();
        }
        assertThat(c.servers()).allSatisfy(s -> assertThat(s.source()).isNotBlank());
        assertThat(c.switches()).allSatisfy(s -> assertThat(s.source()).isNotBlank());
        assertThat(c.transceivers()).extracting(Catalogue.Transceiver::speedGbps).contains(400.0, 800.0, 1600.0);
        assertThat(c.transceivers()).allSatisfy(t -> assertThat(t.source()).isNotBlank());
    }

    /**
     * Dense, not sparse: the H100 SXM datasheet's BF16 1,979 TFLOPS is "with sparsity", so 989.4 here;
     * the A100's 312 BF16 is dense (624 with sparsity); the MI300X's 1,307.4 is dense (AMD data sheet).
     */
    @Test
    void figuresAreDense() {
        Catalogue c = Catalogue.bundled();
        assertThat(c.accelerator("h100-sxm").bf16Tflops()).isEqualTo(989.4);
        assertThat(c.accelerator("h100-sxm").fp8Tflops()).isEqualTo(1978.9);
        assertThat(c.accelerator("a100-80g").bf16Tflops()).isEqualTo(312);
        assertThat(c.accelerator("a100-80g").fp8Tflops()).isNull();
        assertThat(c.accelerator("mi300x").bf16Tflops()).isEqualTo(1307.4);
        assertThat(c.notes()).anyMatch(n -> n.contains("Dense figures only"));
    }

    @Test
    void userFileMergesOverTheBundledOne(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("cat.json"), """
                {"accelerators": [
                   {"id": "h100-sxm", "tdp_w": 650, "source": "measured in our lab"},
                   {"id": "b200", "name": "NVIDIA B200", "vendor": "NVIDIA", "bf16_tflops": 2250, "fp8_tflops": 4500,
                    "memory_gb": 180, "memory_bandwidth_gbs": 8000, "tdp_w": 1000, "source": "user entry"}
                 ]}""");
        Catalogue c = Catalogue.load(dir.resolve("absent.json"), f);
        assertThat(c.accelerator("h100-sxm").tdpW()).isEqualTo(650);
        assertThat(c.accelerator("h100-sxm").bf16Tflops()).isEqualTo(989.4); // untouched fields stay
        assertThat(c.accelerator("h100-sxm").source()).isEqualTo("measured in our lab");
        assertThat(c.accelerator("B200").memoryGb()).isEqualTo(180);
        assertThat(c.serverFor("b200")).isEmpty();
    }

    @Test
    void badUserFilesAreNamed(@TempDir Path dir) throws Exception {
        Path typo = Files.writeString(dir.resolve("typo.json"), "{\"accelerators\": [{\"id\": \"h100-sxm\", \"tdp_watts\": 650}]}");
        assertThatThrownBy(() -> Catalogue.load(null, typo)).hasMessageContaining("tdp_watts");
        Path section = Files.writeString(dir.resolve("section.json"), "{\"gpus\": []}");
        assertThatThrownBy(() -> Catalogue.load(null, section)).hasMessageContaining("unknown section 'gpus'");
        Path noId = Files.writeString(dir.resolve("noid.json"), "{\"switches\": [{\"ports\": 64}]}");
        assertThatThrownBy(() -> Catalogue.load(null, noId)).hasMessageContaining("needs an \"id\"");
        assertThatThrownBy(() -> Catalogue.bundled().accelerator("h900")).hasMessageStartingWith("unknown accelerator 'h900'");
    }
}
