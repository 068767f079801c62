package io.skewless.engine;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Drives one {@link TileEngine} from a line protocol on stdin, for parity tests against the Python
 * engine. Tokens are separated by whitespace; doubles in input may be decimal or hex (Python's
 * float.hex); "none" is None. Commands and what each prints:
 *
 * <pre>
 *   view LATENESS HORIZON|none N      then N lines: OP HOP_MS|0 TILES PARAMS|-   -> "ok" (fresh state)
 *   accepts TS WATERMARK                                                        -> "true" / "false"
 *   event TS WATERMARK V1 .. VN       (one input per feature)                   -> updates, then "."
 *   timer T WATERMARK                                                           -> updates, then "."
 *   next                                                                        -> "next T" / "next none"
 * </pre>
 *
 * An update prints as {@code u VALID_FROM REVISION} then one tab-separated value per feature: an
 * integer, a double by Double.toString (Python's float() reads it back exactly), "None", or
 * "[d,d,...]". With {@code --roundtrip} the state is encoded and decoded after every command (and
 * the re-encoding must give the same bytes), so any state the format loses shows up as a mismatch.
 */
public final class Replay {
    private final PrintWriter out;
    private final boolean roundtrip;
    private TileEngine engine;
    private EntityState state;

    private Replay(PrintWriter out, boolean roundtrip) {
        this.out = out;
        this.roundtrip = roundtrip;
    }

    public static void main(String[] args) throws IOException {
        boolean roundtrip = Arrays.asList(args).contains("--roundtrip");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16));
        Replay replay = new Replay(out, roundtrip);
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            String[] t = line.strip().split("\\s+");
            if (t.length == 0 || t[0].isEmpty()) {
                continue;
            }
            try {
                if (t[0].equals("view")) {
                    int n = Integer.parseInt(t[3]);
                    String[] featureLines = new String[n];
                    for (int i = 0; i < n; i++) {
                        featureLines[i] = in.readLine();
                        lineNo++;
                    }
                    replay.view(t, featureLines);
                } else {
                    replay.command(t);
                }
            } catch (RuntimeException e) {
                out.println("error line " + lineNo + ": " + e);
                out.flush();
                System.exit(1);
            }
        }
        out.flush();
    }

    private void view(String[] t, String[] featureLines) {
        long lateness = Long.parseLong(t[1]);
        long horizon = t[2].equals("none") ? TileEngine.NONE : Long.parseLong(t[2]);
        int n = featureLines.length;
        String[] ops = new String[n];
        long[] hops = new long[n];
        int[] tiles = new int[n];
        String[] params = new String[n];
        for (int i = 0; i < n; i++) {
            String[] f = featureLines[i].strip().split("\\s+", 4);
            ops[i] = f[0];
            hops[i] = Long.parseLong(f[1]);
            tiles[i] = Integer.parseInt(f[2]);
            params[i] = f[3].equals("-") ? null : f[3];
        }
        engine = TileEngine.of(ops, hops, tiles, params, lateness, horizon);
        state = engine.newState();
        out.println("ok");
    }

    private void command(String[] t) {
        switch (t[0]) {
            case "accepts":
                out.println(engine.accepts(Long.parseLong(t[1]), Long.parseLong(t[2])));
                break;
            case "event":
                double[] inputs = new double[engine.featureCount()];
                for (int i = 0; i < inputs.length; i++) {
                    inputs[i] = Double.parseDouble(t[3 + i]);
                }
                print(engine.onEvent(state, Long.parseLong(t[1]), inputs, Long.parseLong(t[2])));
                break;
            case "timer":
                print(engine.onTimer(state, Long.parseLong(t[1]), Long.parseLong(t[2])));
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
            state = EntityState.decode(bytes);
            if (!Arrays.equals(bytes, state.encode())) {
                throw new IllegalStateException("encode(decode(bytes)) differs from bytes");
            }
        }
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
