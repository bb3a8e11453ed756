package org.elasticsearch.node;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import io.portiere.esnode.PortierePlugin;

/**
 * Runs one single-node Elasticsearch cluster in this JVM from the jars on
 * the class path, listening on 127.0.0.1 only. It sits in Elasticsearch's
 * node package because the node's service provider and the constructor that
 * takes a prepared construction are package-private (the test framework's
 * MockNode does the same).
 *
 * <pre>java -cp 'portiere-esnode.jar:lib/*' org.elasticsearch.node.PortiereNode HOME DATA HTTP_PORT</pre>
 *
 * It stops, closing the node, on SIGTERM or SIGINT.
 */
public final class PortiereNode extends Node {
    private static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, PortierePlugin.class);

    private PortiereNode(Environment env) {
        super(NodeConstruction.prepareConstruction(env, null, new ServiceProvider(), true));
    }

    private static final class ServiceProvider extends NodeServiceProvider {
        @Override
        PluginsService newPluginService(Environment env, PluginsLoader loader) {
            return new ClasspathPluginsService(env.settings(), env.configDir(), PLUGINS);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: PortiereNode HOME DATA HTTP_PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path data = Path.of(args[1]).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(data);
        Settings settings = Settings.builder()
            .put("node.name", "portiere")
            .put("cluster.name", "portiere")
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[2])
            // The transport port is never used by a single node; any free one.
            .put("transport.port", "0")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), home.resolve("config"), () -> "portiere");
        PortiereNode node = new PortiereNode(env);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "portiere-esnode-stop"));
        node.start();
        System.out.println("portiere-esnode: started on 127.0.0.1:" + args[2]);
        stopped.await();
    }
}
