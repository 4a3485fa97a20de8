package io.libmccache;

import static io.libmccache.Bytes.b;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Cache.get(key, mappingFunction), memoize and bumpNamespace: one load per key, errors, a cluster. */
class GetOrLoadTest {
    @Test
    void concurrentCallersShareOneComputation() throws Exception {
        try (Node node = Local.open(); Cache c = node.cache("c")) {
            AtomicInteger calls = new AtomicInteger();
            CountDownLatch release = new CountDownLatch(1);
            Function<byte[], byte[]> slow = k -> {
                calls.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return b("v");
            };
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<byte[]>> results = new ArrayList<>();
                for (int i = 0; i < 16; i++) results.add(pool.submit(() -> c.get(b("k"), slow)));
                Await.until(() -> calls.get() == 1, "the computation to start");
                release.countDown();
                for (Future<byte[]> f : results) assertArrayEquals(b("v"), f.get(10, TimeUnit.SECONDS));
            } finally {
                pool.shutdownNow();
            }
            assertEquals(1, calls.get());
            assertArrayEquals(b("v"), c.get(b("k")));
            // Present: the function is not called.
            assertArrayEquals(b("v"), c.get(b("k"), k -> {
                throw new AssertionError("called for a present key");
            }));
        }
    }

    @Test
    void theFunctionSeesTheKeyAndNullStoresNothing() {
        try (Node node = Local.open(); Cache c = node.cache("c")) {
            assertArrayEquals(b("K1"), c.get(b("k1"), k -> new String(k).toUpperCase().getBytes()));
            assertNull(c.get(b("none"), k -> null));
            assertNull(c.get(b("none")));
        }
    }

    @Test
    void exceptionsPropagateToTheCallerAndWaitersGetEuser() throws Exception {
        try (Node node = Local.open(); Cache c = node.cache("c")) {
            IllegalStateException mine = new IllegalStateException("db down");
            IllegalStateException got = assertThrows(IllegalStateException.class, () -> c.get(b("k"), k -> {
                throw mine;
            }));
            assertSame(mine, got);
            assertNull(c.get(b("k")));

            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<?> loader = pool.submit(() -> c.get(b("w"), k -> {
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    throw new IllegalArgumentException("no such row");
                }));
                assertTrue(started.await(10, TimeUnit.SECONDS));
                Future<byte[]> waiter = pool.submit(() -> c.get(b("w"), k -> b("unexpected")));
                Await.until(() -> c.metricsJson().contains("\"waits\":1"), "the second caller to wait");
                release.countDown();
                Exception e1 = assertThrows(Exception.class, () -> loader.get(10, TimeUnit.SECONDS));
                assertTrue(e1.getCause() instanceof IllegalArgumentException, e1.toString());
                Exception e2 = assertThrows(Exception.class, () -> waiter.get(10, TimeUnit.SECONDS));
                MccacheException m = (MccacheException) e2.getCause();
                assertEquals(ErrorCode.EUSER, m.errorCode());
                assertTrue(m.getMessage().contains("no such row"), m.getMessage());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void oneComputationInAClusterOfThree() throws Exception {
        Loopback net = new Loopback("getorload", 3);
        List<Node> nodes = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(24);
        try {
            for (int i = 0; i < 3; i++) nodes.add(net.open(i));
            ClusterTest.awaitMembership(nodes.toArray(new Node[0]));
            AtomicInteger calls = new AtomicInteger();
            CyclicBarrier start = new CyclicBarrier(24);
            List<Future<byte[]>> results = new ArrayList<>();
            for (Node n : nodes) {
                Cache c = n.cache("c");
                for (int t = 0; t < 8; t++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return c.get(b("hot"), k -> {
                            calls.incrementAndGet();
                            try {
                                Thread.sleep(100); // a slow backend: every caller arrives meanwhile
                            } catch (InterruptedException e) {
                                throw new IllegalStateException(e);
                            }
                            return b("v");
                        });
                    }));
                }
            }
            for (Future<byte[]> f : results) assertArrayEquals(b("v"), f.get(20, TimeUnit.SECONDS));
            assertEquals(1, calls.get(), "one computation in the whole cluster");
        } finally {
            pool.shutdownNow();
            for (Node n : nodes) n.close();
        }
    }

    @Test
    void memoizeAndBumpNamespace() {
        try (Config cfg = Local.config().set("key_prefix", "app:");
                Node node = Node.open(cfg);
                Cache c = node.cache("c")) {
            AtomicInteger calls = new AtomicInteger();
            Function<byte[], byte[]> twice = c.memoize(k -> {
                calls.incrementAndGet();
                return (new String(k) + new String(k)).getBytes();
            });
            for (int i = 0; i < 3; i++) assertArrayEquals(b("abab"), twice.apply(b("ab")));
            assertEquals(1, calls.get());
            assertEquals(1, c.bumpNamespace());
            assertNull(c.get(b("ab")));
            assertArrayEquals(b("abab"), twice.apply(b("ab")));
            assertEquals(2, calls.get());
        }
        try (Node node = Local.open(); Cache plain = node.cache("plain")) {
            MccacheException e = assertThrows(MccacheException.class, plain::bumpNamespace);
            assertEquals(ErrorCode.EINVAL, e.errorCode());
        }
    }
}
