package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class NodeTest {
    static void assertClosed(Executable call) {
        MccacheException e = assertThrows(MccacheException.class, call);
        assertEquals(ErrorCode.ECLOSED, e.errorCode(), e.getMessage());
    }

    @Test
    void openWithConfigAndDescribe() {
        Config c = Local.config().set("node_id", 12345);
        Node opened = Node.open(c);
        c.close(); // the node copied the settings
        try (Node node = opened) {
            assertEquals(12345, node.id());
            assertTrue(node.configJson().contains("effective_node_id"), node.configJson());
            String metrics = node.metricsJson();
            assertTrue(metrics.contains("\"node\"") && metrics.contains("\"caches\""), metrics);
            node.housekeep();
            assertFalse(node.isClosed());
        }
    }

    @Test
    void openWithoutConfigUsesDefaultsAndEnvironment() {
        try (Node node = Node.open()) {
            assertNotEquals(0, node.id());
            assertTrue(node.configJson().contains("env:MCCACHE_EVENT_QUEUE_MAX"), node.configJson());
        }
    }

    @Test
    void cacheNamesAreValidated() {
        try (Node node = Local.open()) {
            for (String bad : new String[] {"", "a.b", "x".repeat(256), "nul\0name"}) {
                MccacheException e = assertThrows(MccacheException.class, () -> node.cache(bad), bad);
                assertEquals(ErrorCode.EINVAL, e.errorCode());
            }
            Cache c = node.cache("ünïcode");
            assertEquals("ünïcode", c.name());
            assertEquals(node, c.node());
        }
    }

    @Test
    void closeIsIdempotentAndEverythingAfterItIsEclosed() {
        Node node = Local.open();
        Cache cache = node.cache("c");
        cache.putString("k", "v");
        node.close();
        assertTrue(node.isClosed());
        assertDoesNotThrow(node::close);
        assertClosed(node::id);
        assertClosed(node::metricsJson);
        assertClosed(node::configJson);
        assertClosed(node::housekeep);
        assertClosed(() -> node.cache("c"));
        assertClosed(() -> node.setLogListener((l, m) -> {}));
        assertClosed(() -> cache.getString("k"));
        assertClosed(() -> cache.putString("k", "v"));
        assertClosed(cache::len);
        assertClosed(() -> cache.setChangeListener(e -> {}));
        assertDoesNotThrow(cache::close);
    }

    @Test
    void logListenerGetsLinesOnTheCallbackThreadAndIsReleased() throws InterruptedException {
        long base = Native.liveListenerRefs();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        BlockingQueue<Thread> threads = new LinkedBlockingQueue<>();
        try (Config c = Local.config().set("log_level", "info"); Node node = Node.open(c)) {
            node.setLogListener((level, message) -> {
                if (level == LogLevel.INFO) {
                    lines.add(message);
                    threads.add(Thread.currentThread());
                }
            });
            assertEquals(base + 1, Native.liveListenerRefs());
            node.cache("logged");
            String line = Await.next(lines, "a log line");
            assertTrue(line.contains("logged"), line);
            // Delivered on the node's callback thread, not the caller's: a
            // slow listener never stalls the thread that logged.
            assertEquals("mccache-callbacks", threads.take().getName());
            node.setLogListener((level, message) -> {}); // replaces: the first is released
            Await.until(() -> Native.liveListenerRefs() == base + 1, "the replaced log listener to be released");
            node.setLogListener(null);
            Await.until(() -> Native.liveListenerRefs() == base, "the log listener to be released");
            node.setLogListener((level, message) -> {});
        }
        assertEquals(base, Native.liveListenerRefs(), "close releases the log listener");
    }
}
