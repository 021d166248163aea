package dev.genset.plan;

import dev.genset.testing.Cli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class PlanCommandTest {
    static JsonNode json(String... args) throws Exception {
        var r = Cli.run(args);
        assertThat(r.exitCode()).as(r.err()).isZero();
        return new ObjectMapper().readTree(r.out());
    }

    static void failsWith(String message, String... args) {
        var r = Cli.run(args);
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("genset: " + message).doesNotContain("\n");
    }

    @Test
    void trainJson() throws Exception {
        JsonNode j = json("plan", "train", "--params", "175B", "--tokens", "300B", "--gpu", "a100-80g", "--gpus", "1024",
                "--tflops", "140", "--recompute", "--price-per-gpu-hour", "1.5", "--json");
        for (String f : new String[]{"flops", "seconds", "days", "gpu_hours", "energy_kwh", "cost"}) assertThat(j.has(f)).as(f).isTrue();
        assertThat(j.get("days").asDouble()).isCloseTo(33.9, within(0.1));
        assertThat(j.get("cost").asDouble()).isCloseTo(1.5 * j.get("gpu_hours").asDouble(), within(1e-6));
    }

    @Test
    void trainWithBomCountsTheNetwork() throws Exception {
        JsonNode j = json("plan", "train", "--params", "7B", "--tokens", "1T", "--gpu", "h100-sxm", "--gpus", "256", "--bom", "--json");
        assertThat(j.get("bom").get("servers").asLong()).isEqualTo(32);
        assertThat(j.get("it_kw").asDouble()).isEqualTo(j.get("bom").get("it_kw").asDouble());
        assertThat(j.get("it_kw").asDouble()).isGreaterThan(32 * 10.2);
    }

    @Test
    void serveJson() throws Exception {
        JsonNode j = json("plan", "serve", "--params", "70B", "--layers", "80", "--kv-heads", "8", "--head-dim", "128",
                "--precision", "fp8", "--kv-precision", "fp16", "--qps", "20", "--prompt-tokens", "1500", "--output-tokens", "300", "--json");
        for (String f : new String[]{"weight_bytes", "kv_bytes_per_token", "gpus_per_replica", "replicas", "gpus", "decode_tokens_per_s_ceiling"})
            assertThat(j.has(f)).as(f).isTrue();
        assertThat(j.get("kv_bytes_per_token").asLong()).isEqualTo(327680);
        assertThat(j.get("weight_bytes").asDouble()).isEqualTo(70e9);
    }

    @Test
    void clusterJsonAndServeBom() throws Exception {
        JsonNode j = json("plan", "cluster", "--gpus", "16384", "--gpu", "h100-sxm", "--json");
        for (String f : new String[]{"servers", "leaf_switches", "spine_switches", "core_switches", "transceivers", "it_kw", "facility_kw"})
            assertThat(j.has(f)).as(f).isTrue();
        assertThat(j.get("core_switches").asLong()).isEqualTo(256);
        JsonNode s = json("plan", "serve", "--preset", "llama-3.1-405b", "--precision", "fp8", "--qps", "2", "--prompt-tokens", "1000",
                "--output-tokens", "200", "--bom", "--json");
        assertThat(s.get("bom").get("gpus").asLong()).isEqualTo(s.get("gpus").asLong());
    }

    @Test
    void tableAndExplainShowTheWorking() {
        var t = Cli.run("plan", "cluster", "--gpus", "1024", "--gpu", "h100-sxm", "--switch-ports", "64", "--link", "400g");
        assertThat(t.exitCode()).as(t.err()).isZero();
        assertThat(t.out()).contains("leaf switches").contains("32").contains("spine switches");
        var e = Cli.run("plan", "train", "--params", "175e9", "--tokens", "300e9", "--gpu", "a100-80g", "--gpus", "1024", "--tflops", "140", "--explain");
        assertThat(e.out()).contains("flops = 6 * P * T").contains("seconds = flops / (gpus * flops_per_gpu)");
    }

    @Test
    void badInputIsOneLineNamingTheFlag() {
        failsWith("--gpus must be a positive whole number, got -3", "plan", "train", "--params", "7B", "--tokens", "1T", "--gpu", "h100-sxm", "--gpus=-3");
        failsWith("--gpu: unknown accelerator 'h900'", "plan", "train", "--params", "7B", "--tokens", "1T", "--gpu", "h900", "--gpus", "8");
        failsWith("--tflops must be greater than zero", "plan", "train", "--params", "7B", "--tokens", "1T", "--gpu", "h100-sxm", "--gpus", "8", "--tflops", "0");
        failsWith("--params: not a number", "plan", "train", "--params", "seven", "--tokens", "1T", "--gpu", "h100-sxm", "--gpus", "8");
        failsWith("--gpus must be a positive whole number", "plan", "cluster", "--gpus", "0", "--gpu", "h100-sxm");
        failsWith("--switch-ports must be an even number", "plan", "cluster", "--gpus", "64", "--gpu", "h100-sxm", "--switch-ports", "63");
        failsWith("--qps must be greater than zero", "plan", "serve", "--preset", "mistral-7b", "--precision", "bf16", "--qps", "0",
                "--prompt-tokens", "10", "--output-tokens", "10");
        failsWith("name the model once", "plan", "serve", "--precision", "bf16", "--qps", "1", "--prompt-tokens", "10", "--output-tokens", "10");
    }

    @Test
    void catalogueFileAddsAnAccelerator(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("mine.json"), """
                {"accelerators": [{"id": "b200", "name": "NVIDIA B200", "vendor": "NVIDIA", "bf16_tflops": 2250,
                  "memory_gb": 180, "memory_bandwidth_gbs": 8000, "tdp_w": 1000, "source": "user entry, dense"}]}""");
        JsonNode j = json("plan", "train", "--catalogue", f.toString(), "--params", "7B", "--tokens", "1T", "--gpu", "b200", "--gpus", "8", "--json");
        assertThat(j.get("it_kw").asDouble()).isEqualTo(8.0); // no server in the catalogue: 8 x 1000 W TDP
        failsWith("--gpus-per-server is required", "plan", "cluster", "--catalogue", f.toString(), "--gpus", "64", "--gpu", "b200");
        JsonNode c = json("plan", "cluster", "--catalogue", f.toString(), "--gpus", "64", "--gpu", "b200", "--gpus-per-server", "8", "--json");
        assertThat(c.get("servers").asLong()).isEqualTo(8);
        failsWith("file not found", "plan", "cluster", "--catalogue", dir.resolve("nope.json").toString(), "--gpus", "8", "--gpu", "h100-sxm");
    }

    @Test
    void hardwareListsEverySource() {
        var r = Cli.run("plan", "hardware");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("dense tensor throughput, no sparsity").contains("ascend-910b: uncertain").contains("qm9700:");
    }
}
