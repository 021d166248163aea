package dev.genset.server;

import dev.genset.cli.Main;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

class ServeCommandTest {
    @Test
    void serveAndBenchServeAreRegistered() {
        CommandLine cl = Main.commandLine();
        assertThat(cl.getSubcommands()).containsKey("serve");
        assertThat(cl.getSubcommands().get("bench").getSubcommands()).containsKey("serve");
        CommandLine serve = cl.getSubcommands().get("serve");
        for (String option : new String[] {"--host", "--port", "--model", "--parallel", "--ctx-size", "--threads", "--db", "--redis",
                "--admin-key-file", "--open", "--keep-alive", "--memory-budget", "--no-warmup"})
            assertThat(serve.getCommandSpec().findOption(option)).as(option).isNotNull();
    }

    @Test
    void withoutKeysANonLoopbackHostIsRefusedUnlessOpen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String db = dir.resolve("genset.db").toString();
        assertThat(Main.execute("serve", "--host", "0.0.0.0", "--port", "0", "--db", db, "--threads", "1")).isEqualTo(1);
    }

    @Test
    void aStoreNameThatIsNotStoredIsAOneLineError() {
        assertThat(Main.execute("serve", "--model", "no-such-model:v9", "--port", "0")).isEqualTo(1);
    }

    /** The memory budget counts a model's slots' KV caches beside its file, as Ollama's estimate does, at their storage type (whole tiles of 64 positions here). */
    @Test
    void aModelsMemoryIsItsFileAndItsSlotsCaches(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dev.genset.testing.TestFiles.storiesModel();
        ServerConfig config = ServerConfig.defaults(java.util.List.of(file)).withParallel(3).withContextSize(128);
        long perToken;
        try (dev.genset.engine.gguf.GgufFile g = dev.genset.engine.gguf.GgufFile.open(file)) {
            var m = dev.genset.engine.model.ModelConfig.fromGguf(g);
            perToken = 2L * m.layers() * m.kvDim() * Short.BYTES;  // f16 keys and values, the default
        }
        assertThat(ServedModel.memoryNeeded(file, config)).isEqualTo(java.nio.file.Files.size(file) + 3 * 128 * perToken);
        assertThat(ServedModel.memoryNeeded(file, config.withParallel(6))).isEqualTo(java.nio.file.Files.size(file) + 6 * 128 * perToken);
        var f32 = dev.genset.engine.model.KvType.F32;
        assertThat(ServedModel.memoryNeeded(file, config.withCacheTypes(f32, f32))).isEqualTo(java.nio.file.Files.size(file) + 3 * 128 * perToken * 2);
        java.nio.file.Path junk = java.nio.file.Files.write(dir.resolve("junk.gguf"), new byte[100]);
        assertThat(ServedModel.memoryNeeded(junk, config)).as("an unreadable file counts as its size").isEqualTo(100);
    }

    @Test
    void unknownModelFileIsAOneLineError() {
        assertThat(Main.execute("serve", "--model", "no/such/model.gguf", "--port", "0")).isEqualTo(1);
    }
}
