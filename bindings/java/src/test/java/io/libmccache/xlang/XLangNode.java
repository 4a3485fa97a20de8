package io.libmccache.xlang;

import io.libmccache.Cache;
import io.libmccache.Config;
import io.libmccache.Event;
import io.libmccache.EventType;
import io.libmccache.Metadata;
import io.libmccache.Node;
import io.libmccache.Origin;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;

/**
 * The Java member of the cross-language cluster test (tests/xlang/run_xlang.py
 * starts it beside the C, Go and Rust nodes). Not a JUnit test: a main class
 * kept with the tests so that Maven compiles it against the binding; the
 * CTest XLang::cluster compiles and runs it on its own.
 *
 * <p>It speaks the line protocol of tests/xlang/README.md on stdin/stdout:
 * "ready", then one reply line per command (members, write PHASE, sync,
 * checksum, events, probe KEY..., quit). It uses only the public API.
 *
 * <p>"members" counts the alive entries of {@link Node#membersJson()}, as
 * the C node does, and "sync" calls {@link Node#sync()}.
 */
public final class XLangNode {
    private static final class PrefixStats {
        long local;
        long remote;
        long repair;
        final TreeSet<Integer> seen = new TreeSet<>();
        final TreeMap<String, Long> from = new TreeMap<>();
    }

    private final String label;
    private final int index;
    private final int keys;
    private final int shared;
    private final long paceNanos; // pause between write iterations, so that the four writers overlap
    private long self;
    // Guarded by this; written by the callback thread, read by main.
    private final Map<String, PrefixStats> prefixes = new LinkedHashMap<>();
    private final Map<String, long[]> mine = new HashMap<>();

    private XLangNode(String label, int index, int keys, int shared, long paceNanos) {
        this.label = label;
        this.index = index;
        this.keys = keys;
        this.shared = shared;
        this.paceNanos = paceNanos;
    }

    private static void fail(String what, Throwable t) {
        System.err.println("xlang_node(java): " + what + ": " + t);
        System.exit(1);
    }

    /** Alive members other than this one, from Node.membersJson() (no JSON library here). */
    private static int countAlive(String membersJson) {
        int n = 0;
        for (int at = membersJson.indexOf("\"alive\""); at >= 0; at = membersJson.indexOf("\"alive\"", at + 1)) n++;
        return n;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static boolean less(long hlcA, long nodeA, long hlcB, long nodeB) {
        int c = Long.compareUnsigned(hlcA, hlcB);
        return c < 0 || (c == 0 && Long.compareUnsigned(nodeA, nodeB) < 0);
    }

    /** Runs on the node's callback thread. */
    private synchronized void onChange(Event ev) {
        String key = ev.keyString();
        int dash = key.indexOf('-');
        if (dash <= 0) return;
        int idx;
        try {
            idx = Integer.parseInt(key.substring(dash + 1));
        } catch (NumberFormatException e) {
            return;
        }
        PrefixStats p = prefixes.computeIfAbsent(key.substring(0, dash), k -> new PrefixStats());
        boolean byOther = ev.versionNode() != self;
        boolean remote = ev.origin() == Origin.REMOTE;
        boolean repair = ev.origin() == Origin.REPAIR;
        if (remote) {
            p.remote++;
        } else if (repair) {
            p.repair++;
        } else {
            p.local++;
        }
        boolean upsert = ev.type() == EventType.INSERT || ev.type() == EventType.UPDATE;
        if ((remote || repair) && upsert) {
            p.seen.add(idx);
            String value = ev.valueString();
            int colon = value == null ? -1 : value.indexOf(':');
            if (colon > 0) p.from.merge(value.substring(0, colon), 1L, Long::sum);
        }
        if (!byOther) {
            long[] v = mine.computeIfAbsent(key, k -> new long[2]);
            if (less(v[0], v[1], ev.versionHlc(), ev.versionNode())) {
                v[0] = ev.versionHlc();
                v[1] = ev.versionNode();
            }
        }
    }

    /** One write phase, as tests/xlang/README.md defines it. */
    private void writePhase(Cache cache, int phase) {
        long ops = 0;
        long errors = 0;
        long start = System.nanoTime();
        for (int i = 0; i < keys; i++) {
            // Each writer starts the shared keys at another quarter, so that which
            // writer writes a key last (and wins it) varies from key to key.
            int j = (i + index * (shared / 4)) % shared;
            byte[] value = utf8(label + ":" + phase + ":" + i);
            byte[] own = utf8(label + "-" + i);
            byte[] sharedKey = utf8("shared-" + j);
            try {
                if (phase == 1 || i % 5 == 1) {
                    cache.put(own, value, Cache.TTL_NEVER);
                    ops++;
                } else if (i % 5 == 0) {
                    cache.delete(own);
                    ops++;
                }
            } catch (RuntimeException e) {
                ops++;
                errors++;
                System.err.println("xlang_node(java): phase " + phase + ": " + e);
            }
            try {
                if (phase == 2 && j % 8 == 0) {
                    if (i < shared && (j / 8) % 4 == index) {
                        ops++;
                        cache.delete(sharedKey);
                    }
                } else {
                    ops++;
                    cache.put(sharedKey, value, Cache.TTL_NEVER);
                }
            } catch (RuntimeException e) {
                errors++;
                System.err.println("xlang_node(java): phase " + phase + ": " + e);
            }
            // Pacing, not synchronisation: iteration i+1 starts paceNanos*(i+1)
            // after the phase began, so the four writers keep in step.
            long at = start + paceNanos * (i + 1);
            for (long left; (left = at - System.nanoTime()) > 0; ) LockSupport.parkNanos(left);
        }
        reply("written " + phase + " " + ops + " " + errors);
    }

    private synchronized String events() {
        StringJoiner out = new StringJoiner(",", "events {", "}");
        for (Map.Entry<String, PrefixStats> e : prefixes.entrySet()) {
            PrefixStats p = e.getValue();
            StringJoiner seen = new StringJoiner(",", "[", "]");
            for (int idx : p.seen) seen.add(Integer.toString(idx));
            StringJoiner from = new StringJoiner(",", "{", "}");
            for (Map.Entry<String, Long> f : p.from.entrySet()) {
                from.add("\"" + f.getKey() + "\":" + f.getValue());
            }
            out.add("\"" + e.getKey() + "\":{\"local\":" + p.local + ",\"remote\":" + p.remote
                    + ",\"repair\":" + p.repair + ",\"seen\":" + seen + ",\"from\":" + from + "}");
        }
        return out.toString();
    }

    private static String hex(long v) {
        return String.format("%016x", v);
    }

    private String probe(Cache cache, String[] probeKeys) {
        StringJoiner out = new StringJoiner(",", "probe {", "}");
        for (String key : probeKeys) {
            if (key.isEmpty()) continue;
            byte[] value = cache.get(utf8(key));
            Metadata md = value == null ? null : cache.metadata(utf8(key));
            StringBuilder part = new StringBuilder("\"" + key + "\":{");
            if (value != null && md != null) {
                // Values are the test's own ASCII ("label:phase:index"): no escaping needed.
                part.append("\"value\":\"").append(new String(value, StandardCharsets.UTF_8))
                        .append("\",\"hlc\":\"").append(hex(md.versionHlc()))
                        .append("\",\"node\":\"").append(hex(md.versionNode())).append('"');
            } else {
                part.append("\"value\":null");
            }
            long[] v;
            synchronized (this) {
                v = mine.get(key);
                v = v == null ? null : v.clone();
            }
            if (v != null) {
                part.append(",\"mine\":[\"").append(hex(v[0])).append("\",\"").append(hex(v[1])).append("\"]");
            }
            out.add(part.append('}'));
        }
        return out.toString();
    }

    private static void reply(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] argv) throws IOException {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) args.put(argv[i], argv[i + 1]);
        for (String name : new String[] {"--label", "--index", "--keys", "--shared", "--cluster", "--group", "--port",
            "--pace-us"}) {
            if (!args.containsKey(name)) {
                System.err.println("xlang_node(java): missing " + name);
                System.exit(2);
            }
        }
        XLangNode st = new XLangNode(args.get("--label"), Integer.parseInt(args.get("--index")),
                Integer.parseInt(args.get("--keys")), Integer.parseInt(args.get("--shared")),
                Long.parseLong(args.get("--pace-us")) * 1000);
        if (st.keys < 1 || st.shared < 1) {
            System.err.println("xlang_node(java): --keys and --shared must be positive");
            System.exit(2);
        }

        Node node = null;
        String iface = null;
        // Built-in defaults plus these settings; the environment is not read.
        try (Config config = new Config()) {
            config.set("interface", "127.0.0.1") // loopback only, whatever the caller says
                    .set("cluster_name", args.get("--cluster"))
                    .set("transport", "multicast")
                    .set("multicast_ip", args.get("--group"))
                    .set("multicast_port", args.get("--port"));
            iface = config.get("interface");
            node = Node.open(config);
        } catch (RuntimeException e) {
            fail("open", e);
        }
        st.self = node.id();
        Cache cache = node.cache("xlang");
        cache.setChangeListener(st::onChange);
        reply("ready " + hex(st.self) + " " + iface);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            int space = line.indexOf(' ');
            String cmd = space < 0 ? line : line.substring(0, space);
            String rest = space < 0 ? "" : line.substring(space + 1);
            try {
                switch (cmd) {
                    case "members" -> reply("members " + countAlive(node.membersJson()));
                    case "write" -> st.writePhase(cache, Integer.parseInt(rest));
                    case "sync" -> {
                        node.sync();
                        reply("synced");
                    }
                    case "checksum" -> reply("checksum " + hex(cache.checksum()) + " " + cache.len());
                    case "events" -> reply(st.events());
                    case "probe" -> reply(st.probe(cache, rest.split(" ")));
                    case "quit" -> {
                        node.close();
                        reply("bye");
                        return;
                    }
                    default -> {
                        System.err.println("xlang_node(java): unknown command \"" + line + "\"");
                        reply("error unknown command");
                    }
                }
            } catch (RuntimeException e) {
                fail(cmd, e);
            }
        }
        node.close(); // stdin closed: the coordinator went away
    }
}
