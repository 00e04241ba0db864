// Minimal Neo4j Community launcher (embedded DBMS + Bolt connector, optionally the HTTP
// connector with its API and Neo4j Browser when a browser jar is on the class path).
// Run as a single-file source program:
//   java -cp "LIB/*" Launcher.java --home DIR [--port 7687] [--http-port 7474]
//        [--address 127.0.0.1] [--conf FILE]...
// --conf FILE      neo4j.conf-style settings, loaded in the order given (neo4j-local.sh passes
//                  the config it generates: transaction-log retention and the like)
// Env: NEO4J_PASSWORD   if set: auth enabled, initial password of user 'neo4j'
//                       (applied once per home dir; never printed)
//      NEO4J_PAGECACHE  page cache size, e.g. 512m (default 512m)
//      NEO4J_CONF_FILE  optional neo4j.conf-style file with extra settings, loaded after the
//                       --conf files so that it wins (default: HOME/neo4j.conf if it exists),
//                       e.g. db.tx_log.preallocate=false
// Stops cleanly on SIGTERM/SIGINT (shutdown hook -> managementService.shutdown()).

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public class Launcher {
    // Written (empty) into the home dir once the initial password was applied.
    static final String PASSWORD_MARKER = ".initial-password-set";

    public static void main(String[] args) throws Exception {
        Path home = null;
        int port = 7687;
        int httpPort = 0;   // 0: HTTP connector off
        String address = "127.0.0.1";
        List<Path> confs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--home" -> home = Path.of(args[++i]);
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--http-port" -> httpPort = Integer.parseInt(args[++i]);
                case "--address" -> address = args[++i];
                case "--conf" -> confs.add(Path.of(args[++i]));
                default -> fail("unknown argument: " + args[i]);
            }
        }
        if (home == null) fail("--home DIR is required");
        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);

        String password = System.getenv("NEO4J_PASSWORD");
        boolean auth = password != null && !password.isEmpty();
        long pageCache = parseBytes(System.getenv().getOrDefault("NEO4J_PAGECACHE", "512m"));

        // First start with a password: set it while no connector is open, then restart with Bolt.
        Path marker = home.resolve(PASSWORD_MARKER);
        if (auth && !Files.exists(marker)) {
            DatabaseManagementService init = builder(home, confs, pageCache, true)
                    .setConfig(BoltConnector.enabled, false)
                    .build();
            try {
                init.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
            } catch (RuntimeException e) {
                init.shutdown();
                fail("could not set the initial password for user neo4j: " + rootMessage(e));
            }
            init.shutdown();
            Files.createFile(marker);
            log("initial password for user neo4j set");
        }

        DatabaseManagementServiceBuilder b = builder(home, confs, pageCache, auth)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(address, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(address, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED);
        if (httpPort > 0) {
            // The HTTP API (discovery at /, Cypher over HTTP at /db/{name}/tx) and, when a
            // neo4j-browser jar is on the class path, Neo4j Browser at /browser/. Browser
            // connects to Bolt at the address announced in the discovery document.
            b.setConfig(HttpConnector.enabled, true)
                    .setConfig(HttpConnector.listen_address, new SocketAddress(address, httpPort))
                    .setConfig(HttpConnector.advertised_address, new SocketAddress(address, httpPort));
        }
        DatabaseManagementService dbms = b.build();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("shutting down");
            dbms.shutdown();
            log("stopped");
        }, "neo4j-shutdown"));

        // The default database must be available before we report readiness.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME)
                .executeTransactionally("RETURN 1");
        log("READY bolt://" + address + ":" + port
                + (httpPort > 0 ? " http://" + address + ":" + httpPort : "") + " auth=" + (auth ? "enabled" : "disabled")
                + " home=" + home + " version=" + org.neo4j.kernel.internal.Version.getNeo4jVersion()
                + String.format(Locale.ROOT, " jvm_uptime=%.1fs",
                        java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0));

        // Keep the JVM alive; the shutdown hook does the work on SIGTERM.
        Thread.currentThread().join();
    }

    static DatabaseManagementServiceBuilder builder(Path home, List<Path> confs, long pageCache, boolean auth) {
        DatabaseManagementServiceBuilder b = new DatabaseManagementServiceBuilder(home);
        for (Path c : confs) {
            if (!Files.isRegularFile(c)) fail("--conf file not found: " + c);
            b.loadPropertiesFromFile(c);
        }
        String confEnv = System.getenv("NEO4J_CONF_FILE");
        Path conf = confEnv != null && !confEnv.isEmpty() ? Path.of(confEnv) : home.resolve("neo4j.conf");
        if (confEnv != null && !confEnv.isEmpty() && !Files.isRegularFile(conf)) fail("NEO4J_CONF_FILE not found: " + conf);
        if (Files.isRegularFile(conf)) b.loadPropertiesFromFile(conf);
        // Settings below are applied on top of the files (the HTTP connector is switched on
        // in main() only when --http-port is given).
        return b
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                // Netty's default quiet period makes every stop take ~10 s longer; the stores are
                // already checkpointed by then, so a 1 s quiet period is safe.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 1);
    }

    static long parseBytes(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        char last = v.charAt(v.length() - 1);
        if (last == 'k') mult = 1L << 10;
        else if (last == 'm') mult = 1L << 20;
        else if (last == 'g') mult = 1L << 30;
        if (mult != 1) v = v.substring(0, v.length() - 1);
        return Long.parseLong(v) * mult;
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return String.valueOf(t.getMessage()).replace('\n', ' ');
    }

    static void log(String msg) {
        System.out.println("[neo4j-local] " + msg);
        System.out.flush();
    }

    static void fail(String msg) {
        System.err.println("[neo4j-local] ERROR " + msg);
        System.exit(2);
    }
}
