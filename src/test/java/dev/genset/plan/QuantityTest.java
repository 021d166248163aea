package dev.genset.plan;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class QuantityTest {
    @Test
    void acceptsScientificAndSuffixedNumbers() {
        assertThat(Quantity.parse("175e9", "--params")).isEqualTo(175e9);
        assertThat(Quantity.parse("175B", "--params")).isEqualTo(175e9);
        assertThat(Quantity.parse("300B", "--tokens")).isEqualTo(300e9);
        assertThat(Quantity.parse("1T", "--params")).isEqualTo(1e12);
        assertThat(Quantity.parse("1.5M", "--tokens")).isCloseTo(1.5e6, within(1e-6));
        assertThat(Quantity.parse("4k", "--context")).isEqualTo(4000);
        assertThat(Quantity.parse("1,024", "--gpus")).isEqualTo(1024);
        assertThat(Quantity.count("16384", "--gpus")).isEqualTo(16384L);
    }

    @Test
    void linkSpeeds() {
        assertThat(Quantity.linkGbps("400g", "--link")).isEqualTo(400);
        assertThat(Quantity.linkGbps("800G", "--link")).isEqualTo(800);
        assertThat(Quantity.linkGbps("1.6t", "--link")).isEqualTo(1600);
        assertThat(Quantity.linkGbps("200", "--link")).isEqualTo(200);
    }

    @Test
    void badNumbersNameTheFlag() {
        assertThatThrownBy(() -> Quantity.parse("lots", "--params")).hasMessageStartingWith("--params: not a number: 'lots'");
        assertThatThrownBy(() -> Quantity.count("-3", "--gpus")).hasMessage("--gpus must be a positive whole number, got -3");
        assertThatThrownBy(() -> Quantity.count("2.5", "--gpus")).hasMessage("--gpus must be a whole number, got 2.5");
        assertThatThrownBy(() -> Quantity.positive("0", "--tflops")).hasMessage("--tflops must be greater than zero, got 0");
        assertThatThrownBy(() -> Quantity.linkGbps("fast", "--link")).hasMessageStartingWith("--link: not a link speed");
    }
}
