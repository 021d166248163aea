package dev.genset.models;

import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bundled stories260K.gguf was converted from llama2.c files by llama.cpp's
 * convert-llama2c-to-ggml. Writing those llama2.c files back from it and converting them again must
 * give the same file byte for byte, and the same text.
 */
class Llama2cConverterTest {
    static final String REFERENCE = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

    @TempDir Path dir;

    @Test
    void checkpointFromTheBundledModelConvertsBackToTheSameBytesAndGeneratesLlamaCppsText() throws Exception {
        Path bin = dir.resolve("stories260K.bin"), tok = dir.resolve("tok512.bin");
        Llama2cCheckpoints.writeCheckpoint(TestFiles.storiesModel(), bin, 512, true);
        Llama2cCheckpoints.writeTokenizer(TestFiles.storiesModel(), tok);
        assertThat(Files.size(bin)).isEqualTo(1_056_540L); // as models/README.md lists the original
        assertThat(Files.size(tok)).isEqualTo(6_227L);

        Llama2cConverter.Config c = Llama2cConverter.readConfig(bin);
        assertThat(c).isEqualTo(new Llama2cConverter.Config(64, 172, 5, 8, 4, 512, 512, true));

        ModelStore store = ModelStore.at(dir.resolve("home"));
        Manifest m = store.importLlama2c(bin, tok, "stories:llama2c", Llama2cConverter.DEFAULT_CONTEXT_LENGTH);
        assertThat(m.sha256()).isEqualTo(ModelPullTest.STORIES_SHA);
        assertThat(Files.mismatch(store.resolve("stories:llama2c"), TestFiles.storiesModel())).isEqualTo(-1);

        try (Model model = Model.load(store.resolve("stories:llama2c")); Parallel pool = new Parallel(1)) {
            Generator g = new Generator(model, pool, 128, 16);
            String text = g.generate(model.tokenizer().encode("Once upon a time", true, true), GenerationOptions.greedy(32), s -> {}, null).text();
            assertThat(text).isEqualTo(REFERENCE);
        }
        assertThat(Files.exists(store.root().resolve("tmp")) ? Files.list(store.root().resolve("tmp")).count() : 0).isZero();
    }

    @Test
    void separateClassifierAndGgufVocabularyAndContextLength() throws Exception {
        Path bin = dir.resolve("unshared.bin"), out = dir.resolve("out.gguf");
        Llama2cCheckpoints.writeCheckpoint(TestFiles.storiesModel(), bin, 512, false);
        // llama.cpp's --copy-vocab-from-model also takes a GGUF model
        Llama2cConverter.convert(bin, TestFiles.storiesModel(), out, Llama2cConverter.DEFAULT_CONTEXT_LENGTH);
        assertThat(Digests.sha256(out)).isEqualTo(ModelPullTest.STORIES_SHA);

        Llama2cConverter.convert(bin, TestFiles.storiesModel(), out, 512);
        ModelDetails d = ModelDetails.read(out);
        assertThat(d.contextLength()).isEqualTo(512);
        assertThat(d.parameters()).isEqualTo(292_800);
    }

    @Test
    void filesThatAreNotCheckpointsAreRejectedInOneLine() throws Exception {
        Path small = dir.resolve("small.bin");
        Files.write(small, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Llama2cConverter.readConfig(small)).hasMessageContaining("neither GGUF nor a llama2.c checkpoint");

        Path truncated = dir.resolve("truncated.bin");
        Llama2cCheckpoints.writeCheckpoint(TestFiles.storiesModel(), truncated, 512, true);
        byte[] all = Files.readAllBytes(truncated);
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length - 100));
        assertThatThrownBy(() -> Llama2cConverter.readConfig(truncated))
                .hasMessageContaining("has 1056540 bytes, this file 1056440");

        Path versioned = dir.resolve("v1.bin");
        Files.write(versioned, ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(1).array());
        assertThatThrownBy(() -> Llama2cConverter.readConfig(versioned)).hasMessageContaining("legacy format");

        Path tok = dir.resolve("short-tok.bin");
        Files.write(tok, new byte[] {10, 0, 0, 0, 0, 0, 0, 0});
        Path bin = dir.resolve("ok.bin");
        Llama2cCheckpoints.writeCheckpoint(TestFiles.storiesModel(), bin, 512, true);
        assertThatThrownBy(() -> Llama2cConverter.convert(bin, tok, dir.resolve("x.gguf"), 128))
                .hasMessageContaining("is not a llama2.c tokenizer for 512 tokens");
        assertThat(dir.resolve("x.gguf")).doesNotExist();
    }
}
