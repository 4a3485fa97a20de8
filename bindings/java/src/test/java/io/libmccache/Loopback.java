package io.libmccache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cluster of test nodes in this JVM that never leaves loopback: each node
 * binds 127.0.0.1 on a port of its own and reaches the others as unicast
 * peers (no multicast group shared with other processes), and the cluster
 * name is unique per cluster, so that no other node on the machine is heard.
 */
final class Loopback {
    private static final AtomicInteger SEQ = new AtomicInteger();

    final String name;
    private final int[] ports;
    private final String peers;

    /** Room for {@code size} nodes; node i listens on port(i). */
    Loopback(String label, int size) {
        name = "java-" + label + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
        ports = freeUdpPorts(size);
        StringJoiner j = new StringJoiner(",");
        for (int p : ports) j.add("127.0.0.1:" + p);
        peers = j.toString();
    }

    int port(int index) {
        return ports[index];
    }

    /** The settings of node {@code index}; the caller may add more, then closes it. */
    Config config(int index) {
        return new Config()
                .set("interface", "127.0.0.1")
                .set("transport", "unicast")
                .set("peers", peers)
                .set("listen_port", ports[index])
                .set("cluster_name", name)
                .set("heartbeat_interval", "50ms")
                .set("member_timeout", "1s")
                .set("log_level", "error");
    }

    /** Opens node {@code index} with extra settings as key, value pairs. */
    Node open(int index, String... settings) {
        try (Config c = config(index)) {
            for (int i = 0; i < settings.length; i += 2) c.set(settings[i], settings[i + 1]);
            return Node.open(c);
        }
    }

    /** Ports free on 127.0.0.1 right now, all held open together so that they differ. */
    private static int[] freeUdpPorts(int n) {
        List<DatagramSocket> held = new ArrayList<>();
        try {
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                held.add(s);
                out[i] = s.getLocalPort();
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (DatagramSocket s : held) s.close();
        }
    }

    static String hex(long id) {
        return String.format("%016x", id);
    }

    /** Whether members JSON lists {@code id} in {@code state}. */
    static boolean lists(String membersJson, long id, String state) {
        String entry = "{\"id\":\"" + hex(id) + "\"";
        int at = membersJson.indexOf(entry, membersJson.indexOf("\"members\""));
        if (at < 0) return false;
        int end = membersJson.indexOf('}', at);
        return membersJson.substring(at, end).contains("\"state\":\"" + state + "\"");
    }
}
