package dev.genset.cli;

import picocli.CommandLine;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;

/** The {@code genset} command line: one entry point, a subcommand per task. */
// scope INHERIT: every subcommand gets --help and --version too.
@Command(name = "genset", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "genset 0.1.0",
        description = "Run, serve, meter and evaluate large language models in pure Java.")
public final class Main implements Runnable {
    /** The subcommands, in the order help lists them. */
    private static final List<Class<?>> COMMANDS = List.of(RunCommand.class, ChatCommand.class, TokenizeCommand.class, EmbedCommand.class,
            InfoCommand.class, MakeModelCommand.class, BenchCommand.class, ServeCommand.class, PlanCommand.class, KeysCommand.class,
            TeamsCommand.class, UsageCommand.class, PricesCommand.class, DeploymentsCommand.class, EvalCommand.class, PullCommand.class,
            ListCommand.class, ShowCommand.class, RmCommand.class, CpCommand.class, ImportCommand.class, DataCommand.class,
            CommandLine.HelpCommand.class);

    /**
     * The command line for these arguments: where the first names a subcommand, with that one alone,
     * else (help, a flag, a mistyped name) with all. Picocli makes every subcommand's options when it
     * is added, and making all of them took about a fifth of a second of every command's start.
     */
    public static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(new Main());
        Class<?> named = args.length == 0 ? null : COMMANDS.stream().filter(c -> c != CommandLine.HelpCommand.class && names(c).contains(args[0]))
                .findFirst().orElse(null);
        for (Class<?> c : named != null ? List.<Class<?>>of(named) : COMMANDS) cl.addSubcommand(c);
        return cl;
    }

    private static List<String> names(Class<?> command) {
        Command c = command.getAnnotation(Command.class);
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(c.name()), java.util.Arrays.stream(c.aliases())).toList();
    }

    @Override
    public void run() {
        commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        // Model text is UTF-8 whatever the platform's console encoding is.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        System.exit(execute(args));
    }

    /** Runs the CLI; errors the user can act on are one line on stderr and exit code 1. */
    public static int execute(String... args) {
        CommandLine cl = commandLine(args);
        Path config;
        try {
            config = configFile();
        } catch (IllegalArgumentException e) {
            System.err.println("genset: " + e.getMessage());
            return 1;
        }
        if (config != null) cl.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(config.toFile()));
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("genset: " + Errors.describe(ex));
            if (System.getenv("GENSET_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl.execute(args);
    }

    /**
     * The optional configuration file: option defaults as properties, keyed by the option's long
     * name ({@code port=8081}) or, for one command only, by its qualified name
     * ({@code genset.serve.port=8081}). Flags given on the command line win over it. Found at
     * -Dgenset.config, $GENSET_CONFIG, or genset.properties in the data directory.
     */
    static Path configFile() {
        String named = System.getProperty("genset.config", System.getenv("GENSET_CONFIG"));
        if (named != null && !named.isBlank()) {
            Path p = Path.of(named);
            if (!Files.isRegularFile(p)) throw new IllegalArgumentException("configuration file not found: " + p);
            return p;
        }
        String home = System.getenv("GENSET_HOME");
        Path p = (home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".genset")).resolve("genset.properties");
        return Files.isRegularFile(p) ? p : null;
    }
}
