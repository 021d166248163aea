package dev.genset.eval;

import dev.genset.data.DatasetStore;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.eval.model.LocalModel;
import dev.genset.eval.task.DatasetRegistry;
import dev.genset.eval.task.StoredDatasets;
import dev.genset.eval.task.Task;
import dev.genset.eval.task.TaskSpec;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A task reads a dataset registered with `genset data add` by name, split by the NAME-SPLIT convention. */
class StoredDatasetTaskTest {
    @AfterEach
    void restoreDefaultProvider() {
        DatasetRegistry.setProvider(name -> new StoredDatasets(DatasetStore.atDefaultHome()).find(name));
    }

    @Test
    void multipleChoiceTaskOverAStoredDataset(@TempDir Path home) throws Exception {
        DatasetStore store = DatasetStore.at(home);
        Path test = Files.writeString(home.resolve("test.jsonl"), """
                {"context": "Once upon a time,", "choices": ["the quarterly report was filed late", "there was a little girl named Lily"], "gold": 1}
                {"context": "Once upon a time, there was a little girl named", "choices": ["Zbigniew", "Lily"], "gold": 1}
                {"context": "Once upon a time, there was a", "choices": ["little girl", "tax audit"], "gold": 0}
                """);
        Path other = Files.writeString(home.resolve("all.jsonl"), """
                {"context": "x", "choices": ["a", "b"], "gold": 0}
                """);
        store.add("stories-mc-test", test, null);
        store.add("stories-mc", other, null);
        DatasetRegistry.setProvider(new StoredDatasets(store));

        String yaml = """
                task: stories-mc
                type: multiple_choice
                dataset: {name: stories-mc, split: test}
                prompt: "{{context}}"
                choices: "{{choices}}"
                target: "{{gold}}"
                """;
        try (LocalModel lm = new LocalModel(Model.load(TestFiles.storiesModel()), new Parallel(2), 256, 64, true)) {
            TaskResult r = Evaluator.evaluate(Task.load(TaskSpec.parse(yaml, false, null)), lm, Evaluator.Options.defaults());
            assertThat(r.documents()).isEqualTo(3); // the -test split, not the 1-row default
            assertThat(r.metrics().get("acc").value()).isEqualTo(1.0);
            // Another split falls back to the dataset itself.
            TaskResult dev = Evaluator.evaluate(Task.load(TaskSpec.parse(yaml.replace("split: test", "split: validation"), false, null)), lm, Evaluator.Options.defaults());
            assertThat(dev.documents()).isEqualTo(1);
        }
        assertThatThrownBy(() -> Task.load(TaskSpec.parse(yaml.replace("name: stories-mc", "name: nope"), false, null)))
                .hasMessageContaining("no dataset named 'nope'");
    }
}
