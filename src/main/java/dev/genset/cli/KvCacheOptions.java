package dev.genset.cli;

import dev.genset.engine.model.KvType;
import picocli.CommandLine.Option;

/**
 * How the KV cache stores keys and values, named as llama.cpp names the options and types, and f16
 * by default as there: half the memory of f32, and no slower here (attention converts a tile of
 * keys or a run of values at a time, once for all the query heads that share them). q8_0 takes
 * about half of f16's again, q4_0 about a quarter, for models whose heads are whole blocks of 32 numbers.
 */
final class KvCacheOptions {
    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "How the KV cache stores keys: f16; f32 (twice f16's memory); q8_0 (17/32 of f16's); or q4_0 (9/32) (default: ${DEFAULT-VALUE}).")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "How the KV cache stores values: f16, f32, q8_0 or q4_0 (default: ${DEFAULT-VALUE}).")
    String cacheTypeV;

    KvType keyType() {
        return KvType.parse(cacheTypeK);
    }

    KvType valueType() {
        return KvType.parse(cacheTypeV);
    }
}
