package io.skewless.flink.metrics;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.Iterator;
import org.apache.flink.metrics.prometheus.AbstractPrometheusReporter;
import org.apache.flink.util.PortRange;

/**
 * Flink's Prometheus reporter, listening on one address ({@code 127.0.0.1} by default) instead of all
 * of them.
 *
 * <p>Flink 2.1's {@code PrometheusReporter} takes a port range and no host: it binds the wildcard
 * address. This one keeps everything else of it (it extends {@link AbstractPrometheusReporter}, which
 * names the metrics and holds their collectors) and serves the same text endpoint on {@code host},
 * at the first free port of the range. It needs flink-metrics-prometheus on the system classpath,
 * beside this class (skewless.devstack.flink_home puts the apache-flink wheel's jar in lib/): loaded
 * as a plugin, that jar's classes would be invisible here.
 */
public final class LoopbackPrometheusReporter extends AbstractPrometheusReporter {
    private final HTTPServer server;
    private final String host;
    private final int port;

    LoopbackPrometheusReporter(String host, PortRange ports) {
        CollectorRegistry registry = registry();
        Iterator<Integer> candidates = ports.getPortsIterator();
        HTTPServer started = null;
        int bound = -1;
        while (started == null && candidates.hasNext()) {
            int candidate = candidates.next();
            try {
                started = new HTTPServer(new InetSocketAddress(host, candidate), registry, true);
                bound = candidate;
            } catch (IOException e) {
                log.debug("Prometheus endpoint: {}:{} is taken", host, candidate, e);
            }
        }
        if (started == null) {
            throw new IllegalStateException("Prometheus endpoint: no free port on " + host + " in " + ports);
        }
        this.server = started;
        this.host = host;
        this.port = bound;
        log.info("Prometheus endpoint on http://{}:{}/metrics", host, bound);
    }

    /** The port it listens on. */
    public int getPort() {
        return port;
    }

    public String getHost() {
        return host;
    }

    @Override
    public void close() {
        server.stop();
        super.close();
    }

    /** The parent's collector registry: a package-private field, the one place its metrics live. */
    private CollectorRegistry registry() {
        try {
            Field field = AbstractPrometheusReporter.class.getDeclaredField("registry");
            field.setAccessible(true);
            return (CollectorRegistry) field.get(this);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this flink-metrics-prometheus has no AbstractPrometheusReporter.registry"
                    + " field; the loopback reporter needs one", e);
        }
    }
}
