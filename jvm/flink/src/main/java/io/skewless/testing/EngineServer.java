package io.skewless.testing;

import io.skewless.engine.EntityState;
import io.skewless.engine.TileEngine;
import io.skewless.engine.Update;
import io.skewless.logic.RowLogic;
import io.skewless.logic.RowLogicException;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JVM side of the testing kit (Python package {@code skewless.testing}): the job's own
 * {@link TileEngine}, driven one command per line on stdin, one answer per command on stdout,
 * so a test can run a view on the real engine without Flink. Each engine holds one entity's
 * state, built from the view spec by {@link ViewEngines#fromSpec}; a row logic is a view's
 * derived columns and filter, run by the job's own {@link RowLogic} ("drop": the filter drops
 * the event; "reject": an expression failed, with the reason the job dead-letters). Tokens are separated by
 * whitespace; doubles may be decimal or hex (Python's float.hex).
 *
 * <pre>
 *   view ID HORIZON|none  then one line: the view spec's JSON (ViewSpec.to_dict())    -> "ok"
 *   logic ID              then one line: the row logic's JSON (RowLogic.to_json())    -> "ok"
 *   row ID                then one line: an event as a JSON object                      -> "row JSON" / "drop" / "reject REASON"
 *   accepts ID TS WATERMARK                                                          -> "true" / "false"
 *   event ID TS WATERMARK V1 .. VN     (one input per feature)                       -> updates, then "."
 *   timer ID T WATERMARK                                                             -> updates, then "."
 *   next ID                                                                          -> "next T" / "next none"
 *   drop ID            (an engine or a row logic)                                    -> "ok"
 * </pre>
 *
 * An update prints as {@code u VALID_FROM REVISION} then one tab-separated value per feature: an
 * integer, a double by Double.toString (Python's float() reads it back exactly), "None", or
 * "[d,d,...]". A command that fails answers {@code error MESSAGE} and leaves every engine as it
 * was. With {@code --roundtrip} each engine's state is encoded and decoded after every command
 * (and re-encoding must give the same bytes), so state the checkpoint format would lose shows.
 */
public final class EngineServer {
    private static final Set<String> PAYLOAD_COMMANDS = Set.of("view", "logic", "row");

    private final PrintWriter out;
    private final boolean roundtrip;
    private final Map<String, TileEngine> engines = new HashMap<>();
    private final Map<String, EntityState> states = new HashMap<>();
    private final Map<String, RowLogic> logics = new HashMap<>();

    private EngineServer(PrintWriter out, boolean roundtrip) {
        this.out = out;
        this.roundtrip = roundtrip;
    }

    public static void main(String[] args) throws IOException {
        boolean roundtrip = Arrays.asList(args).contains("--roundtrip");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16));
        EngineServer server = new EngineServer(out, roundtrip);
        String line;
        while ((line = in.readLine()) != null) {
            String[] t = line.strip().split("\\s+");
            if (t.length == 0 || t[0].isEmpty()) {
                continue;
            }
            String payload = PAYLOAD_COMMANDS.contains(t[0]) ? in.readLine() : null;
            try {
                server.command(t, payload);
            } catch (RuntimeException e) {
                out.println("error " + (e.getMessage() == null ? e.toString() : e.getMessage()).replace('\n', ' '));
            }
            if (!in.ready()) {
                out.flush(); // answer before blocking on the next command
            }
        }
        out.flush();
    }

    private void command(String[] t, String payload) {
        if (t[0].equals("view")) {
            create(t, payload);
            return;
        }
        if (t[0].equals("logic") || t[0].equals("row")) {
            rowLogic(t, payload);
            return;
        }
        if (t[0].equals("drop") && t.length == 2) {
            engines.remove(t[1]);
            states.remove(t[1]);
            logics.remove(t[1]);
            out.println("ok");
            return;
        }
        if (t.length < 2) {
            throw new IllegalArgumentException("command " + t[0] + " needs an engine id");
        }
        String id = t[1];
        TileEngine engine = engines.get(id);
        if (engine == null) {
            throw new IllegalArgumentException("no engine " + id);
        }
        EntityState state = states.get(id);
        switch (t[0]) {
            case "accepts":
                out.println(engine.accepts(Long.parseLong(t[2]), Long.parseLong(t[3])));
                break;
            case "event":
                if (t.length != 4 + engine.featureCount()) {
                    throw new IllegalArgumentException("event needs " + engine.featureCount() + " inputs, got " + (t.length - 4));
                }
                double[] inputs = new double[engine.featureCount()];
                for (int i = 0; i < inputs.length; i++) {
                    inputs[i] = Double.parseDouble(t[4 + i]);
                }
                print(engine.onEvent(state, Long.parseLong(t[2]), inputs, Long.parseLong(t[3])));
                break;
            case "timer":
                print(engine.onTimer(state, Long.parseLong(t[2]), Long.parseLong(t[3])));
                break;
            case "next":
                long next = engine.nextTimer(state);
                out.println(next == TileEngine.NONE ? "next none" : "next " + next);
                break;
            default:
                throw new IllegalArgumentException("unknown command " + t[0]);
        }
        if (roundtrip) {
            byte[] bytes = state.encode();
            EntityState decoded = EntityState.decode(bytes);
            if (!Arrays.equals(bytes, decoded.encode())) {
                throw new IllegalStateException("encode(decode(bytes)) differs from bytes");
            }
            states.put(id, decoded);
        }
    }

    private void create(String[] t, String specJson) {
        if (t.length != 3 || specJson == null) {
            throw new IllegalArgumentException("view needs ID HORIZON|none, then the spec's JSON on one line");
        }
        long horizon = t[2].equals("none") ? TileEngine.NONE : Long.parseLong(t[2]);
        TileEngine engine = ViewEngines.fromSpec(specJson, horizon);
        engines.put(t[1], engine);
        states.put(t[1], engine.newState());
        out.println("ok");
    }

    private void rowLogic(String[] t, String payload) {
        if (t.length != 2 || payload == null) {
            throw new IllegalArgumentException(t[0] + " needs an ID, then its JSON on one line");
        }
        if (t[0].equals("logic")) {
            logics.put(t[1], RowLogic.fromJson(payload));
            out.println("ok");
            return;
        }
        RowLogic logic = logics.get(t[1]);
        if (logic == null) {
            throw new IllegalArgumentException("no row logic " + t[1]);
        }
        Map<String, Object> row;
        try {
            row = logic.apply(JsonRows.read(payload));
        } catch (RowLogicException e) {
            out.println("reject " + e.reason().replace('\n', ' '));
            return;
        }
        out.println(row == null ? "drop" : "row " + JsonRows.write(row));
    }

    private void print(List<Update> updates) {
        for (Update u : updates) {
            StringBuilder line = new StringBuilder("u ").append(u.validFrom).append(' ').append(u.revision);
            for (Object v : u.values) {
                line.append('\t').append(format(v));
            }
            out.println(line);
        }
        out.println(".");
    }

    private static String format(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof List<?> list) {
            StringBuilder s = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                s.append(i == 0 ? "" : ",").append(Double.toString((Double) list.get(i)));
            }
            return s.append(']').toString();
        }
        return v.toString(); // Long, or Double via Double.toString
    }
}
