package dev.genset.models;

import dev.genset.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes llama2.c files from a llama.cpp-converted GGUF model, the way llama2.c's export.py and
 * tokenizer.py write them: the legacy checkpoint (7-int header, weights, RoPE tables) and
 * tokenizer.bin (max token length, then score, length and bytes per token, spaces for U+2581).
 */
final class Llama2cCheckpoints {
    private Llama2cCheckpoints() {}

    static void writeCheckpoint(Path gguf, Path out, int seqLen, boolean sharedClassifier) throws IOException {
        try (GgufFile g = GgufFile.open(gguf)) {
            int dim = g.getInt("llama.embedding_length", 0), hidden = g.getInt("llama.feed_forward_length", 0);
            int layers = g.getInt("llama.block_count", 0), heads = g.getInt("llama.attention.head_count", 0);
            int kvHeads = g.getInt("llama.attention.head_count_kv", heads);
            int vocab = g.getStringArray("tokenizer.ggml.tokens").length;
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(kvHeads).putInt(sharedClassifier ? vocab : -vocab).putInt(seqLen);
            bos.write(h.array());
            tensor(g, "token_embd.weight", bos);
            for (int l = 0; l < layers; l++) tensor(g, "blk." + l + ".attn_norm.weight", bos);
            for (String w : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"})
                for (int l = 0; l < layers; l++) tensor(g, "blk." + l + "." + w + ".weight", bos);
            for (int l = 0; l < layers; l++) tensor(g, "blk." + l + ".ffn_norm.weight", bos);
            for (String w : new String[] {"ffn_gate", "ffn_down", "ffn_up"}) // w1, w2, w3
                for (int l = 0; l < layers; l++) tensor(g, "blk." + l + "." + w + ".weight", bos);
            tensor(g, "output_norm.weight", bos);
            int headSize = dim / heads;
            ByteBuffer freqs = ByteBuffer.allocate(seqLen * headSize * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int part = 0; part < 2; part++) // freq_cis_real, then freq_cis_imag
                for (int p = 0; p < seqLen; p++)
                    for (int i = 0; i < headSize / 2; i++) {
                        double angle = p * Math.pow(10000.0, -2.0 * i / headSize);
                        freqs.putFloat((float) (part == 0 ? Math.cos(angle) : Math.sin(angle)));
                    }
            bos.write(freqs.array());
            if (!sharedClassifier) tensor(g, "output.weight", bos);
            Files.write(out, bos.toByteArray());
        }
    }

    private static void tensor(GgufFile g, String name, ByteArrayOutputStream out) {
        out.writeBytes(g.data(g.tensor(name)).toArray(ValueLayout.JAVA_BYTE));
    }

    static void writeTokenizer(Path gguf, Path out) throws IOException {
        try (GgufFile g = GgufFile.open(gguf)) {
            String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
            float[] scores = g.getFloatArray("tokenizer.ggml.scores");
            byte[][] pieces = new byte[tokens.length][];
            int max = 0;
            for (int i = 0; i < tokens.length; i++) {
                String t = i == 1 ? "\n<s>\n" : i == 2 ? "\n</s>\n" : tokens[i].replace('\u2581', ' ');
                pieces[i] = t.getBytes(StandardCharsets.UTF_8);
                max = Math.max(max, pieces[i].length);
            }
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            bos.write(b.putInt(0, max).array());
            for (int i = 0; i < tokens.length; i++) {
                bos.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(scores[i]).putInt(pieces[i].length).array());
                bos.write(pieces[i]);
            }
            Files.write(out, bos.toByteArray());
        }
    }
}
