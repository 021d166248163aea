package dev.genset.cli;

import dev.genset.engine.model.KvType;
import picocli.CommandLine.Option;

/** How the KV cache stores keys and values, named as llama.cpp names the options and types. */
final class KvCacheOptions {
    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f32",
            description = "How the KV cache stores keys: f32, or f16 in half the memory (default: ${DEFAULT-VALUE}).")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f32",
            description = "How the KV cache stores values: f32 or f16 (default: ${DEFAULT-VALUE}).")
    String cacheTypeV;

    KvType keyType() {
        return KvType.parse(cacheTypeK);
    }

    KvType valueType() {
        return KvType.parse(cacheTypeV);
    }
}
