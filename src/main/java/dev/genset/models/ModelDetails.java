package dev.genset.models;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.gguf.GgufValue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * What {@code genset show} reports about a GGUF model, read from its header: architecture,
 * parameter count, quantization, context length and the like; for a mixture of experts, its
 * experts and the parameters a token uses (those of the experts it is not routed to left out).
 * Absent values are null.
 */
public record ModelDetails(
        String architecture,
        String name,
        long parameters,
        String quantization,
        Integer contextLength,
        Integer embeddingLength,
        Integer blockCount,
        Integer headCount,
        Integer headCountKv,
        Integer vocabSize,
        String tokenizer,
        boolean chatTemplate,
        String license,
        int tensorCount,
        int ggufVersion,
        Integer expertCount,
        Integer expertUsedCount,
        long activeParameters) {

    public static ModelDetails read(Path gguf) throws IOException {
        try (GgufFile f = GgufFile.open(gguf)) {
            return of(f);
        }
    }

    public static ModelDetails of(GgufFile f) {
        String arch = string(f, "general.architecture");
        long params = 0, expertParams = 0;
        Map<GgmlType, Long> bytesByType = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo t : f.tensors()) {
            params += t.elementCount();
            if (t.name().endsWith("_exps.weight")) expertParams += t.elementCount();
            if (t.shape().length >= 2) bytesByType.merge(t.type(), t.byteSize(), Long::sum);
        }
        String quant = null;
        GgufValue ft = f.get("general.file_type");
        if (ft != null && ft.asLong() != null) quant = fileTypeName(ft.asLong().intValue());
        if (quant == null) // the type holding most of the matrix bytes
            quant = bytesByType.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse(null);
        Integer experts = integer(f, arch + ".expert_count"), used = integer(f, arch + ".expert_used_count");
        long active = params;
        if (experts != null && used != null && experts > 0 && used <= experts) active = params - expertParams / experts * (experts - used);
        String[] tokens = null;
        try {
            tokens = f.getStringArray("tokenizer.ggml.tokens");
        } catch (RuntimeException ignored) {
            // not a string array: leave the vocabulary size out
        }
        return new ModelDetails(arch, string(f, "general.name"), params, quant,
                integer(f, arch + ".context_length"), integer(f, arch + ".embedding_length"), integer(f, arch + ".block_count"),
                integer(f, arch + ".attention.head_count"), integer(f, arch + ".attention.head_count_kv"),
                tokens == null ? null : tokens.length, string(f, "tokenizer.ggml.model"),
                f.has("tokenizer.chat_template"), string(f, "general.license"), f.tensors().size(), f.version(),
                experts, used, active);
    }

    private static String string(GgufFile f, String key) {
        GgufValue v = f.get(key);
        return v != null && v.value() instanceof String s ? s : null;
    }

    private static Integer integer(GgufFile f, String key) {
        GgufValue v = f.get(key);
        if (v == null || v.asLong() == null) return null;
        long l = v.asLong();
        return l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE ? (int) l : null;
    }

    /** llama.cpp's names for general.file_type (enum llama_ftype). */
    static String fileTypeName(int ft) {
        return switch (ft) {
            case 0 -> "F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K";
            case 11 -> "Q3_K_S";
            case 12 -> "Q3_K_M";
            case 13 -> "Q3_K_L";
            case 14 -> "Q4_K_S";
            case 15 -> "Q4_K_M";
            case 16 -> "Q5_K_S";
            case 17 -> "Q5_K_M";
            case 18 -> "Q6_K";
            case 19 -> "IQ2_XXS";
            case 20 -> "IQ2_XS";
            case 21 -> "Q2_K_S";
            case 22 -> "IQ3_XS";
            case 23 -> "IQ3_XXS";
            case 24 -> "IQ1_S";
            case 25 -> "IQ4_NL";
            case 26 -> "IQ3_S";
            case 27 -> "IQ3_M";
            case 28 -> "IQ2_S";
            case 29 -> "IQ2_M";
            case 30 -> "IQ4_XS";
            case 31 -> "IQ1_M";
            case 32 -> "BF16";
            case 36 -> "TQ1_0";
            case 37 -> "TQ2_0";
            case 38 -> "MXFP4_MOE";
            default -> null;
        };
    }

    /** "292.80K", "1.24B": parameter counts the way llama.cpp prints them. */
    public static String formatParameters(long n) {
        if (n >= 1_000_000_000L) return String.format("%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format("%.2fM", n / 1e6);
        if (n >= 1_000L) return String.format("%.2fK", n / 1e3);
        return Long.toString(n);
    }

    /** "1.2 MB", "4.1 GB" (decimal units, as download sizes are usually given). */
    public static String formatBytes(long n) {
        if (n < 1000) return n + " B";
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }
}
