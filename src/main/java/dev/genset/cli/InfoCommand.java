package dev.genset.cli;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.gguf.GgufValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "info", description = "Print a GGUF file's metadata and tensor table.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "GGUF file")
    Path path;

    @Option(names = "--no-tensors", description = "Metadata only.")
    boolean noTensors;

    @Override
    public Integer call() throws Exception {
        try (GgufFile gguf = GgufFile.open(path)) {
            var out = System.out;
            out.printf("file: %s%nGGUF version %d, %,d bytes, alignment %d, tensor data at %d%n",
                    path, gguf.version(), gguf.fileSize(), gguf.alignment(), gguf.dataOffset());
            out.printf("%nmetadata (%d):%n", gguf.metadata().size());
            for (Map.Entry<String, GgufValue> e : gguf.metadata().entrySet()) {
                String v = e.getValue().toString();
                if (v.length() > 160) v = v.substring(0, 157) + "...";
                out.printf("  %-44s %-7s %s%n", e.getKey(), e.getValue().type().name().toLowerCase(), v.replace("\n", "\\n"));
            }
            if (!noTensors) {
                long params = 0, bytes = 0;
                out.printf("%ntensors (%d):%n", gguf.tensors().size());
                for (GgufTensorInfo t : gguf.tensors()) {
                    out.printf("  %-36s %-6s %-22s %,14d bytes%n", t.name(), t.type(), Arrays.toString(t.shape()), t.byteSize());
                    params += t.elementCount();
                    bytes += t.byteSize();
                }
                out.printf("%n%,d parameters, %,d bytes of tensor data%n", params, bytes);
            }
        }
        return 0;
    }
}
