package io.skewless.flink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;

/**
 * Decode throughput of {@link EventDecoder} on transactions: records written with the newest schema
 * (schemas/transactions.avsc plus a "channel" field with a default), and records of the older
 * writer (the .avsc as it is), resolved to it. A main, not a test, run by hand to compare versions:
 * {@code java -cp target/classes:target/test-classes:DEPS io.skewless.flink.DecodeBenchmark [avsc] [seconds]}.
 */
public final class DecodeBenchmark {
    private static final int RECORDS = 10_000;

    private DecodeBenchmark() {}

    public static void main(String[] args) throws IOException {
        String older = Files.readString(Path.of(args.length > 0 ? args[0] : "schemas/transactions.avsc"));
        Schema oldSchema = new Schema.Parser().parse(older);
        int lastField = older.lastIndexOf(']');
        String newest = older.substring(0, lastField)
                + ", {\"name\": \"channel\", \"type\": \"string\", \"default\": \"web\"}" + older.substring(lastField);
        Schema newSchema = new Schema.Parser().parse(newest);
        String[] names = {"event_id", "user_id", "merchant_id", "amount", "currency", "event_time", "channel"};
        String[] types = {"STRING", "STRING", "STRING", "DOUBLE", "STRING", "LONG", "STRING"};
        EventDecoder decoder = new EventDecoder(new String[] {older, newest}, names, types, "event_time");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        report("newest writer", decoder, records(newSchema), seconds);
        report("older writer, resolved", decoder, records(oldSchema), seconds);
    }

    private static byte[][] records(Schema schema) throws IOException {
        BinaryMessageEncoder<GenericRecord> encoder = new BinaryMessageEncoder<>(GenericData.get(), schema);
        Random random = new Random(42);
        byte[][] out = new byte[RECORDS][];
        for (int i = 0; i < RECORDS; i++) {
            GenericRecord r = new GenericData.Record(schema);
            r.put("event_id", "evt-" + i);
            r.put("user_id", "user-" + random.nextInt(10_000));
            r.put("merchant_id", "m-" + random.nextInt(500));
            r.put("amount", random.nextDouble() * 300);
            r.put("currency", "EUR");
            if (schema.getField("channel") != null) {
                r.put("channel", "app");
            }
            r.put("event_time", 1_700_000_000_000L + i * 1000L);
            ByteBuffer encoded = encoder.encode(r);
            out[i] = new byte[encoded.remaining()];
            encoded.get(out[i]);
        }
        return out;
    }

    private static void report(String label, EventDecoder decoder, byte[][] records, int seconds) {
        long checksum = 0;
        for (int warm = 0; warm < 50; warm++) { // let the JIT compile the decode path
            checksum += run(decoder, records);
        }
        long decoded = 0;
        long start = System.nanoTime();
        long deadline = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            checksum += run(decoder, records);
            decoded += records.length;
        }
        double rate = decoded / ((System.nanoTime() - start) / 1e9);
        System.out.printf("%-24s %,12.0f records/s (checksum %d)%n", label, rate, checksum);
    }

    private static long run(EventDecoder decoder, byte[][] records) {
        long sum = 0;
        try {
            for (byte[] r : records) {
                Object[] row = decoder.decode(r);
                sum += ((String) row[1]).length() + (row[6] == null ? 0 : ((String) row[6]).length());
            }
        } catch (EventDecoder.DecodeException e) {
            throw new IllegalStateException("a benchmark record did not decode: " + e.getMessage(), e);
        }
        return sum;
    }
}
