package io.skewless.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The job spec document: checked whole when read, and never shown with its settings. */
class JobSpecTest {
    private static String view(String params) {
        return "{\"spec\": {\"name\": \"v\", \"version\": 2, \"entity_key\": \"user\", \"allowed_lateness_ms\": 0,"
                + " \"features\": [{\"name\": \"f\", \"op\": \"last_n\", \"column\": \"amount\", \"window_ms\": 7200000,"
                + " \"hop_ms\": 3600000, \"params\": " + params + "}]}}";
    }

    private static final String SINK = "\"cassandra\": {\"v-v2\": {\"contact_points\": \"10.0.0.7:9042\","
            + " \"local_datacenter\": \"dc1\", \"keyspace\": \"ks\","
            + " \"statement\": \"INSERT INTO ks.t (user, f, valid_from, version) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?\","
            + " \"ttl_seconds\": 60, \"valid_from_index\": 2, \"version_index\": 3, \"max_in_flight\": 8,"
            + " \"consistency\": \"ONE\"}}";

    @Test
    void aViewAndItsSinkAreBuiltFromTheDocument() {
        JobSpec spec = JobSpec.fromJson("{\"views\": [" + view("[[\"n\", 3]]") + "], " + SINK + "}");
        assertEquals("Row(user: String, f: List<Double>, valid_from: Long, written_at: Long, version: Long)",
                spec.updateType("v-v2").toString());
        CassandraUpsertSink sink = (CassandraUpsertSink) spec.cassandraSink("v-v2");
        assertEquals(8, sink.config().maxInFlight());
        assertFalse(spec.toString().contains("10.0.0.7"), spec.toString());
        assertTrue(spec.toString().contains("v-v2"));
    }

    @Test
    void monitoringFieldsOfTheSpecAreIgnored() {
        // freshness_slo and drift (docs/monitoring.md) are metadata: the engine reads neither.
        String watched = view("[[\"n\", 3]]").replace("\"allowed_lateness_ms\": 0,",
                "\"allowed_lateness_ms\": 0, \"freshness_slo\": {\"quantile\": 0.99, \"max_ms\": 2000},"
                        + " \"drift\": {\"psi\": 0.2, \"js\": null, \"null_rate\": 0.05, \"missing_rate\": null},");
        JobSpec plain = JobSpec.fromJson("{\"views\": [" + view("[[\"n\", 3]]") + "]}");
        JobSpec spec = JobSpec.fromJson("{\"views\": [" + watched + "]}");
        assertTrue(watched.contains("freshness_slo"), watched);
        assertEquals(plain.updateType("v-v2").toString(), spec.updateType("v-v2").toString());
    }

    @Test
    void aBadPartIsRefusedWhenTheDocumentIsRead() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobSpec.fromJson("{\"views\": [" + view("[[\"n\", 0]]") + "]}"));
        assertEquals("view v@2: feature #0: aggregation last_n: n must be in [1, 1000], got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobSpec.fromJson("{\"views\": []"));
        assertTrue(e.getMessage().startsWith("the job spec is not JSON"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> JobSpec.fromJson("{" + SINK.replace("\"ONE\"", "\"SOME\"") + "}"));
        assertTrue(e.getMessage().startsWith("cassandra sink of v-v2: consistencyLevel"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobSpec.fromJson("{}").cassandraSink("w-v1"));
        assertEquals("no cassandra sink w-v1 in the job spec; it has []", e.getMessage());
    }

    @Test
    void aViewsFreshnessSloReachesItsSink() {
        String withSlo = view("[[\"n\", 3]]").replace("\"allowed_lateness_ms\": 0,",
                "\"allowed_lateness_ms\": 0, \"freshness_slo\": {\"quantile\": 0.99, \"max_ms\": 2000},");
        CassandraUpsertSink sink = (CassandraUpsertSink) JobSpec.fromJson("{\"views\": [" + withSlo + "], " + SINK + "}")
                .cassandraSink("v-v2");
        assertEquals("v@2", sink.viewLabel());
        assertEquals(new io.skewless.flink.metrics.FreshnessSlo(0.99, 2000), sink.slo());
        assertEquals("0.99", sink.slo().quantileLabel());
        CassandraUpsertSink without = (CassandraUpsertSink) JobSpec.fromJson("{\"views\": [" + view("[[\"n\", 3]]")
                + "], " + SINK + "}").cassandraSink("v-v2");
        assertEquals(null, without.slo());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobSpec.fromJson(
                "{\"views\": [" + withSlo.replace("0.99", "1.5") + "]}"));
        assertEquals("view v@2: freshness_slo: quantile must be in (0, 1), got 1.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobSpec.fromJson(
                "{\"views\": [" + withSlo.replace("\"max_ms\": 2000", "\"max_ms\": \"2s\"") + "]}"));
        assertTrue(e.getMessage().startsWith("view v@2: freshness_slo must be {"), e.getMessage());
    }
}
