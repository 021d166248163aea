package dev.genset.gateway;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class FixedRateClientTest {
    static final long MS = 1_000_000L;

    @Test
    void slowRequestsScheduledCloseTogetherMakeOneEpisode() {
        long[] scheduled = {0, 1 * MS, 2 * MS, 30 * MS, 500 * MS, 501 * MS, 2_000 * MS};
        long[] latency = {20 * MS, 12 * MS, 1 * MS, 9 * MS, 15 * MS, 2 * MS, 0};
        // 0, 1 and 30 ms are one episode (gaps under 60 ms), 500 ms another; 2 and 501 ms were not slow
        assertThat(FixedRateClient.episodes(scheduled, latency))
                .isEqualTo("slow (over 8 ms): 4 requests in 2 episodes; largest: 3 requests (worst 20.0 ms), 1 (15.0 ms)");
        assertThat(FixedRateClient.episodes(new long[] {0}, new long[] {MS})).isEqualTo("slow (over 8 ms): 0 requests in 0 episodes");
    }
}
