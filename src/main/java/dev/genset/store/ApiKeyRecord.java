package dev.genset.store;

/**
 * An API key as stored: its SHA-256 is kept, never the key.
 *
 * @param prefix    the key's first characters, enough to tell keys apart in a listing
 * @param teamId    the team, or null
 * @param expiresAt epoch ms after which the key no longer works, or null
 * @param revokedAt epoch ms of revocation, or null
 * @param capture   the key's prompts and completions are saved (request capture, opt-in per key)
 */
public record ApiKeyRecord(String id, String prefix, String name, String teamId, Limits limits, Long expiresAt,
                           Long revokedAt, long createdAt, boolean capture) {
    public boolean revoked() {
        return revokedAt != null;
    }

    public boolean expired(long nowMs) {
        return expiresAt != null && nowMs >= expiresAt;
    }
}
