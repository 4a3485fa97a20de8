package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Arguments and closed nodes for the cluster calls: errors, never crashes or leaks. */
class ClusterArgsTest {
    static final Duration T = Duration.ofSeconds(1);

    static void assertEinval(Executable call) {
        MccacheException e = assertThrows(MccacheException.class, call);
        assertEquals(ErrorCode.EINVAL, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().startsWith("MCCACHE_EINVAL: "), e.getMessage());
    }

    @Test
    void nullArgumentsThrowNullPointerException() {
        long base = Native.liveListenerRefs();
        try (Node node = Local.open()) {
            ReplyListener ignore = (m, j) -> {};
            assertThrows(NullPointerException.class, () -> node.clusterRequest(null, T, ignore));
            assertThrows(NullPointerException.class, () -> node.clusterRequest(QueryKind.METRICS, null, ignore));
            assertThrows(NullPointerException.class, () -> node.clusterRequest(QueryKind.METRICS, T, null));
            assertThrows(NullPointerException.class, () -> node.clusterRequest(QueryKind.CHECKSUMS, null, T, ignore));
            assertThrows(NullPointerException.class, () -> node.clusterRequest(null, "c", T, ignore));
            assertThrows(NullPointerException.class, () -> node.clusterRequest(QueryKind.CHECKSUMS, "c", T, null));
            assertThrows(NullPointerException.class, () -> node.clusterCollect(null, T));
            assertThrows(NullPointerException.class, () -> node.clusterCollect(QueryKind.METRICS, null));
            assertThrows(NullPointerException.class, () -> node.clusterCollect(QueryKind.CHECKSUMS, null, T));
            assertThrows(NullPointerException.class, () -> node.clusterCollect(null, "c", T));
            assertThrows(NullPointerException.class, () -> node.clusterCollect(QueryKind.CHECKSUMS, "c", null));
            node.setMemberListener(null); // null unregisters: allowed
        }
        assertEquals(base, Native.liveListenerRefs(), "no listener leaked by a refused call");
    }

    @Test
    void invalidArgumentsAreEinvalAndLeakNothing() {
        long base = Native.liveListenerRefs();
        AtomicInteger calls = new AtomicInteger();
        ReplyListener counting = (m, j) -> calls.incrementAndGet();
        try (Node node = Local.open()) {
            node.cache("c");
            for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofMillis(-5), Duration.ofMillis(60_001),
                    Duration.ofDays(365_000)}) {
                assertEinval(() -> node.clusterCollect(QueryKind.METRICS, bad));
                assertEinval(() -> node.clusterRequest(QueryKind.METRICS, bad, counting));
            }
            assertEinval(() -> node.clusterCollect(QueryKind.CHECKSUMS, "c\0d", T));
            assertEinval(() -> node.clusterRequest(QueryKind.CHECKSUMS, "c\0d", T, counting));
            assertEquals(base, Native.liveListenerRefs(), "failed requests released their listener at once");
        }
        assertEquals(0, calls.get(), "a refused request is never answered");
        assertEquals(base, Native.liveListenerRefs());
    }

    @Test
    void timeoutsRoundUpToWholeMilliseconds() {
        assertEquals(1, Node.timeoutMillis(Duration.ofNanos(1)));
        assertEquals(1, Node.timeoutMillis(Duration.ofMillis(1)));
        assertEquals(2, Node.timeoutMillis(Duration.ofMillis(1).plusNanos(1)));
        assertEquals(60_000, Node.timeoutMillis(Duration.ofMinutes(1)));
        assertEquals(0, Node.timeoutMillis(Duration.ofSeconds(-1)));
        assertEquals(Integer.MAX_VALUE, Node.timeoutMillis(Duration.ofDays(365_000)));
    }

    @Test
    void everyClusterCallOnAClosedNodeIsEclosed() {
        long base = Native.liveListenerRefs();
        AtomicInteger calls = new AtomicInteger();
        Node node = Local.open();
        node.close();
        NodeTest.assertClosed(() -> node.setMemberListener(e -> calls.incrementAndGet()));
        NodeTest.assertClosed(() -> node.setMemberListener(null));
        NodeTest.assertClosed(node::membersJson);
        NodeTest.assertClosed(node::sync);
        NodeTest.assertClosed(() -> node.clusterCollect(QueryKind.METRICS, T));
        NodeTest.assertClosed(() -> node.clusterCollect(QueryKind.CHECKSUMS, "c", T));
        NodeTest.assertClosed(() -> node.clusterRequest(QueryKind.METRICS, T, (m, j) -> calls.incrementAndGet()));
        NodeTest.assertClosed(() -> node.clusterRequest(QueryKind.CHECKSUMS, "c", T, (m, j) -> calls.incrementAndGet()));
        NodeTest.assertClosed(() -> node.setKeys(Node.generateKey(), null));
        NodeTest.assertClosed(() -> node.setKeys(null, null));
        assertEquals(base, Native.liveListenerRefs(), "listeners refused after close were released at once");
        assertEquals(0, calls.get());
        Node.generateKey(); // needs no node
    }

    @Test
    void membershipCallsWorkOnALocalNode() {
        try (Node node = Local.open()) {
            String json = node.membersJson();
            assertTrue(json.contains(String.format("\"id\":\"%016x\"", node.id())), json);
            assertTrue(json.contains("\"members\":[]"), json);
            node.sync();
            node.setMemberListener(e -> {});
        }
    }
}
