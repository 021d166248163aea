package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HexFormat;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuantizerTest {

    /**
     * Output of ggml's quantize_row_*_ref (built with -ffp-contract=off) for {@link #goldenInput()}:
     * 512 values, including an all-zero and an all-positive sub-block.
     */
    private static final Map<GgmlType, String> GOLDEN = Map.ofEntries(
        Map.entry(GgmlType.Q8_0, """
            ab1981f80e0cfa020bfc0bf51211f40cfffa06fbfcfbeff1f60206000df7f9fe10ef2818ea140df5ff81f0eb11f6efea
            0ff711e8010b150df203f9e8fff2f70fefee1412c011061c010bc71e43cb33e1811c392e11d2e0c6f50f1ac80230441b
            4242da3b30bcdd1a06f60908040706f50806f60b0e01f281fa06090401f8fbf4faf50b01fcff0cf57e122720c7003e1f
            e7cb05fe070f0c0bcf04e0fb0ecc7f3916d419da0019d630ef04670e818b16c07a3ed1a3cc5a0082252c77d2e99e2ede
            79f4969a54c4220aa5709f4a011a05fefe11f5f8fefd10f802eff305f30df7100f031108f2fd0a00f5f10a0f7f0b470e
            c7df2cf1dffbf6eaa7a59617c800424579c4b393b86bf22cb0629a16cd7fb89e00000000000000000000000000000000
            0000000000000000000000000000000000000a181607090c1d110d177f1b1a1a151b081e1414101d090f131317111218
            17070617381bff030701fdfe06f608fbfcf80a8101f6fff40c07fdfe0d0808f90a02030cfc00b8181207ed0ff8130af7
            eb05ee070e050a16fcf381fdf302fbf114f702f005faf3fd130efdbb3cdb99eb7f7c93ff944ee8cd456407e79d44a236
            333f2a260143f6de95f5680e2cc8892cef9a770f304b896bc3a10b0b966ceb924a757d81934b31fdeb71c26c5b0ece90
            e9e58b2cad01c9adabacf1c965c70b666fe78ee97f96740b35f08213fecd9614e88128e1e4d8ebe9fcf406f9f3f6e9dd
            f42828da04f6e8000fef16e500e2ecdb"""),
        Map.entry(GgmlType.Q4_0, """
            9f2980878989787879888987997987899878202887999997788087678977779779779996b421684a7899a44a8cb5cba6
            c0ca6ccbb945cf2a8887998888888877897897898988977071a2a6867cb804467abb68a88867b7579b885b1e7021b964
            ff7c1522d54ea8902afb2fd5f5a9987878877988988877889899797809773b9e0ccad5f9da189959de2eef77bc08d4e4
            00808888888888888888888888888888888802a8777877677677777770767666778688762a2b88789888888898979988
            988789908887af2889780789778989779778877889887989079e88ace44aee5950405f688f4399abf4925b1e1bf4711b
            d7f2ff091bddb08f74f249f94e9e7b2f19aaff950df81b7d5d9df97b82bc8d2476b0bb66867567879877986887677766"""),
        Map.entry(GgmlType.Q4_K, """
            2a10e51e7327d33f34260d3f647d666cb0fdefcfdd0ebfbdffccbfbfeccffdaddeedfdedbcdcccaedebecfedbdbdfffc
            eacbe9eae5ebeec5ede7c0ebfddcca06d7e5e8eadbc5d9cddecbeeded6ddfdc407068034e9b6422044c4750595a5e044
            6114a550ee681611c641948621e813c43251916350616151131102803072b0b3e133230223d2609123d1008033f32f03
            7510471f001f3f6900003f696b7c6c473010101030202030f03030302030104020202030102020203020203030101030
            fdedbefdcdfdeeccbeedbdeceee0edfcddcc0edecddddebefeccdebdedcecddda7430ba57126ff9fb0c700ec46248b8d
            18e6611bc1fafa0b1ac9b77b67e540e69400f59590899297b3a2c1b2a6a39d83a7fdfd85c0a59eb0dda7da96b098a683"""),
        Map.entry(GgmlType.Q6_K, """
            217e03332e71033fc39d1474edb3405ffbb8589741a5fda30a311810225daef11be5232d10211cdb241eec3b340ed41a
            f11f9c61ed44d6f0ffcd44c4a9370bc87c4f3e1040e03d6c3ee1dcf87a6a8a8e28c1cdfdc0e23a1bda0a304aebc404df
            f164d5c06eefd59963560071f90b4d5516f944c921533c5a4a70a7add803299da469aaa699a2b655aa9546a6a9a66a15
            aa792d5d50f894c286d2074db1810ffc1060ab467c696663052e19b13999ffc52a9ed5dad019ad6ed12ee6659e11ced1
            96f2b2f2e50e800c0e1df10e0f6cf40e088700102000f0f020e020f0f0e0201000e030e02000706010c0c00090c09030
            90105a6ecebdc94c1deae099b959cb891e18fcdb1ff2d710fdcd59ef1ec719f8daf8210191890ad580010c808b8cc60d
            df07d2795264c4601fa34ddb3044fdb600ddac01a08c9c65bfa4fdd410edd0d7a373962b1bd5d27d2f0145d3fc5f0b7c
            f1cb2464e42494146494e054d454244464146070005064a4404080708050904464605a07915a47624c685b4e834c5652
            7858920d04e37cafceb3429e1ae7b5dda4ed00004511800d0eac0df5f3f2f40ed90d6587""")    );

    /** The generator the golden bytes were made with (a 64-bit LCG), reproduced bit for bit. */
    static float[] goldenInput() {
        long st = 12345;
        float[] x = new float[512];
        for (int i = 0; i < 512; i++) {
            st = st * 6364136223846793005L + 1442695040888963407L;
            float v = (float) ((st >>> 11) - (1L << 52)) / (float) (1L << 52) * 0.05f;
            if (i % 37 == 0) v *= 9f;
            x[i] = v;
        }
        for (int i = 256; i < 288; i++) x[i] = 0f;
        for (int i = 288; i < 320; i++) x[i] = Math.abs(x[i]) + 0.01f;
        return x;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void matchesGgmlReferenceQuantizerBitForBit(GgmlType type) {
        byte[] expected = HexFormat.of().parseHex(GOLDEN.get(type).replaceAll("\\s", ""));
        assertThat(HexFormat.of().formatHex(Quantizer.quantize(type, goldenInput())))
                .isEqualTo(HexFormat.of().formatHex(expected));
    }

    @Test
    void halfAndBfloatRoundToNearestEven() {
        assertThat(Quantizer.toBf16(Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80);  // tie, even stays
        assertThat(Quantizer.toBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);  // tie, odd rounds up
        assertThat(Quantizer.toBf16(Float.intBitsToFloat(0x3F808001))).isEqualTo((short) 0x3F81);
        assertThat(Quantizer.toBf16(Float.NaN) & 0x7FC0).isEqualTo(0x7FC0);
        byte[] h = Quantizer.quantize(GgmlType.F16, new float[] {1f + 0x1p-11f, 1f + 3 * 0x1p-11f});
        assertThat(h).containsExactly(0x00, 0x3C, 0x02, 0x3C);
    }

    /** Largest error allowed per value, relative to the block's largest magnitude. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void roundTripErrorIsBounded(GgmlType type) {
        float[] x = TensorTestData.weights(11, 32 * 256);
        FloatTensor t = TensorTestData.quantized(type, x);
        float[] y = new float[x.length];
        t.dequantize(0, y, 0, x.length);
        double se = 0, ss = 0;
        for (int i = 0; i < x.length; i++) {
            double err = Math.abs(x[i] - y[i]);
            se += err * err;
            ss += (double) x[i] * x[i];
            switch (type) {
                case F32 -> assertThat(y[i]).isEqualTo(x[i]);
                case F16 -> assertThat(err).isLessThanOrEqualTo(Math.abs(x[i]) * 0x1p-11 + 0x1p-25);
                case BF16 -> assertThat(err).isLessThanOrEqualTo(Math.abs(x[i]) * 0x1p-8);
                default -> { }
            }
        }
        // per block: Q8_0 within half a step (+ fp16 rounding of d); Q4_0 within one step
        // (its top level is clamped: -max maps to 7d = -7/8 max)
        if (type == GgmlType.Q8_0 || type == GgmlType.Q4_0)
            for (int b = 0; b < x.length; b += 32) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
                double step = type == GgmlType.Q8_0 ? amax / 127 * 0.56 : amax / 8 * 1.01;
                for (int j = 0; j < 32; j++) assertThat((double) Math.abs(x[b + j] - y[b + j])).isLessThanOrEqualTo(step);
            }
        double relRms = Math.sqrt(se / ss);
        double bound = switch (type) {
            case F32 -> 0;
            case F16 -> 3e-4;
            case BF16 -> 3e-3;
            case Q8_0 -> 0.01;
            case Q6_K -> 0.03;
            case Q4_0 -> 0.15;
            case Q4_K -> 0.12;
            default -> throw new IllegalStateException();
        };
        assertThat(relRms).as("relative rms error of %s", type).isLessThanOrEqualTo(bound);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void zerosStayZero(GgmlType type) {
        float[] y = new float[512];
        TensorTestData.quantized(type, new float[512]).dequantize(0, y, 0, 512);
        for (float v : y) assertThat(Math.abs(v)).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void streamingWriterProducesTheSameBytes(GgmlType type) throws IOException {
        float[] x = TensorTestData.weights(3, 256 * 300);
        var bytes = new ByteArrayOutputStream();
        try (var w = Quantizer.writer(type, bytes)) {
            // odd piece sizes so blocks straddle writes and internal chunks
            for (int off = 0, step = 1; off < x.length; off += step, step = step * 3 % 1001 + 1)
                w.write(x, off, Math.min(step, x.length - off));
        }
        assertThat(bytes.toByteArray()).isEqualTo(Quantizer.quantize(type, x));
        var direct = new ByteArrayOutputStream();
        Quantizer.quantize(type, x, direct);
        assertThat(direct.toByteArray()).isEqualTo(bytes.toByteArray());
    }

    @Test
    void partialBlocksAreRejected() {
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q4_K, new float[300])).isInstanceOf(IllegalArgumentException.class);
        var w = Quantizer.writer(GgmlType.Q8_0, new ByteArrayOutputStream());
        assertThatThrownBy(() -> {
            w.write(new float[40], 0, 40);
            w.close();
        }).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q5_K, new float[256])).isInstanceOf(UnsupportedTensorTypeException.class);
    }
}
