package dev.genset.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tests must run the tensor code as users do: the JIT flags the launcher passes (which kernels
 * compile on their own, which helpers always inline, the unroll limit) are the ones this JVM was
 * started with from the pom. A flag added to one and not the other would make the tests measure
 * and check code compiled differently from what users run.
 */
class LauncherJitFlagsTest {

    @Test
    void launcherAndTestsUseTheSameJitFlags() throws Exception {
        Set<String> tests = new TreeSet<>();
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (arg.startsWith("-XX:CompileCommand") || arg.startsWith("-XX:LoopUnrollLimit") || arg.matches("-XX:[+-]SuperWord.*")) tests.add(arg);
        Assumptions.assumeFalse(tests.isEmpty(), "started outside the build (no JIT flags from the pom)");

        Path launcher = Path.of("genset").toAbsolutePath();
        assertThat(launcher).exists();
        ProcessBuilder pb = new ProcessBuilder("bash", launcher.toString()).redirectErrorStream(true);
        pb.environment().put("GENSET_PRINT_JIT_FLAGS", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        List<String> printed = out.lines().filter(l -> !l.isBlank()).toList();

        assertThat(printed).as("launcher prints only JVM flags").allMatch(l -> l.startsWith("-XX:"));
        assertThat(new TreeSet<>(printed)).as("launcher flags (left) against the pom's genset.jvmFlags (right)").isEqualTo(tests);
    }
}
