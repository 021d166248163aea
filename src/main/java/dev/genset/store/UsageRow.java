package dev.genset.store;

import java.math.BigDecimal;

/**
 * One request in the usage ledger.
 *
 * @param ts         epoch ms the request was admitted
 * @param keyId      the key, or null for open access
 * @param provider   "local" or the upstream kind, or null
 * @param deployment which deployment served it, or null
 * @param status     "ok", "error", "cancelled", ... as the caller reports it
 */
public record UsageRow(String requestId, long ts, String keyId, String teamId, String model, String provider, String deployment,
                       long promptTokens, long completionTokens, long cachedTokens, BigDecimal cost, long latencyMs, String status) {
    public UsageRow {
        if (requestId == null || requestId.isBlank()) throw new IllegalArgumentException("a usage row needs a request id");
        if (model == null) model = "";
        if (cost == null) cost = BigDecimal.ZERO;
        if (status == null) status = "ok";
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }
}
