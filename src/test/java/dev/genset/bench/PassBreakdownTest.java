package dev.genset.bench;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.FloatTensor;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link PassBreakdown} counts of the products it is told of. */
class PassBreakdownTest {

    @Test
    void countsTheCallersProductsByPartWithTheirWeights() throws Exception {
        try (Model m = Model.load(TestFiles.storiesModel()); Arena arena = Arena.ofConfined()) {
            PassBreakdown b = new PassBreakdown(m);
            var layer = m.weights().layers()[0];
            FloatTensor output = m.weights().output();

            // another thread's products (a product started on a pool thread) do not count
            Thread other = Thread.ofPlatform().start(() -> {
                b.product(output, 1, 1_000);
                b.attention(1, 1_000);
            });
            other.join();
            assertThat(b.rows()).isEmpty();

            b.product(output, 1, 1_000);
            b.product(layer.wq(), 3, 500);  // the fused query, key and value product, three activation rows
            FloatTensor stray = FloatTensor.of(GgmlType.F32, arena.allocate(64 * 4), 64);
            b.product(stray, 2, 50);
            b.attention(1, 200);
            b.pass(2_000, 1);

            var rows = b.rows();
            assertThat(rows).extracting(PassBreakdown.Row::part)
                    .containsExactly(PassBreakdown.Part.ATTN_QKV, PassBreakdown.Part.ATTENTION, PassBreakdown.Part.OUTPUT, PassBreakdown.Part.OTHER);
            var qkv = rows.get(0);
            assertThat(rows.get(1).nanos()).isEqualTo(200);
            assertThat(rows.get(1).weightBytes()).isZero();
            long qkvValues = layer.wq().size() + layer.wk().size() + layer.wv().size();
            assertThat(qkv.multiplyAdds()).isEqualTo(3 * qkvValues);
            assertThat(qkv.weightBytes()).isEqualTo(layer.wq().type().byteSize(layer.wq().size()) + layer.wk().type().byteSize(layer.wk().size())
                    + layer.wv().type().byteSize(layer.wv().size()));
            var out = rows.get(2);
            assertThat(out.calls()).isEqualTo(1);
            assertThat(out.nanos()).isEqualTo(1_000);
            assertThat(out.weightBytes()).isEqualTo(output.type().byteSize(output.size()));
            assertThat(out.types()).containsExactly(output.type().name());
            // a matrix the model does not have: counted apart, its bytes unknown
            assertThat(rows.get(3).weightBytes()).isZero();
            assertThat(rows.get(3).types()).containsExactly("F32");
            assertThat(b.passes()).isEqualTo(1);
            assertThat(b.betweenNanos()).isEqualTo(2_000 - 1_000 - 500 - 50 - 200);

            // a warm-up's counts are forgotten
            b.clear();
            assertThat(b.rows()).isEmpty();
            assertThat(b.passNanos()).isZero();
            assertThat(b.tokens()).isZero();
            b.product(output, 1, 300);
            assertThat(b.rows()).singleElement().satisfies(row -> assertThat(row.nanos()).isEqualTo(300));
        }
    }
}
