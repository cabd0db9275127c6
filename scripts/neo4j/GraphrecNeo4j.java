import inet.ipaddr.IPAddressString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Starts Neo4j Community (embedded API) with Bolt on 127.0.0.1:PORT and auth off, for tests and CI.
 * Usage: java -cp "lib/*:classes" GraphrecNeo4j HOME_DIR PORT [NEO4J_CONF]
 * NEO4J_CONF: optional neo4j.conf-style file with extra settings (e.g. server.memory.pagecache.size).
 * LOAD CSV cannot read local files (file URLs are disabled, and their root would be the private, empty
 * HOME_DIR/import) nor fetch URLs (every IPv4 and IPv6 address is blocked): auth is off and CI runs it
 * as root, so it must not serve /etc/passwd or reach other services to whoever can connect.
 * Runs until killed (SIGTERM runs the shutdown hook, which closes the database cleanly).
 */
public final class GraphrecNeo4j {
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: GraphrecNeo4j HOME_DIR PORT [NEO4J_CONF]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        Path importDir = home.resolve("import");
        Files.createDirectories(importDir);
        Files.setPosixFilePermissions(importDir, PosixFilePermissions.fromString("rwx------"));
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        if (args.length == 3) {
            builder.loadPropertiesFromFile(Path.of(args[2]));
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, importDir)
                .setConfig(GraphDatabaseInternalSettings.cypher_ip_blocklist,
                        List.of(new IPAddressString("0.0.0.0/0"), new IPAddressString("::/0")))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
        System.out.println("graphrec-neo4j: bolt listening on 127.0.0.1:" + port);
        System.out.flush();
        Thread.currentThread().join();
    }
}
