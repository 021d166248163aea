package dev.genset.store;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class IdsTest {
    @Test
    void randomIdsHaveThePrefixLengthAndAlphabetAndDoNotRepeat() {
        Set<String> seen = new HashSet<>();
        int[] counts = new int[128];
        for (int i = 0; i < 20_000; i++) {
            String id = Ids.random("req_", 24);
            assertThat(id).startsWith("req_").hasSize(28).matches("req_[0-9A-Za-z]{24}");
            assertThat(seen.add(id)).as("unique").isTrue();
            for (char c : id.substring(4).toCharArray()) counts[c]++;
        }
        // 480,000 characters over 62 symbols: about 7,742 each (standard deviation about 87); a byte taken
        // modulo 62 without rejection would put about 9,375 on each of the first eight
        String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (char c : alphabet.toCharArray()) assertThat(counts[c]).as("count of %s", c).isBetween(7_300, 8_200);
    }

    @Test
    void orderedIdsSortByCreationTimeAndDoNotRepeat() throws InterruptedException {
        String first = Ids.ordered("req_", 24);
        assertThat(first).hasSize(28).matches("req_[0-9A-Za-z]{24}");
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) assertThat(seen.add(Ids.ordered("req_", 24))).as("unique").isTrue();
        Thread.sleep(5);
        String later = Ids.ordered("req_", 24);
        // the time prefix decides the order (base62 digits ascend in ASCII order), whatever the random tail
        assertThat(later.substring(0, 12)).isGreaterThan(first.substring(0, 12));
        assertThat(later).isGreaterThan(first);
    }
}
