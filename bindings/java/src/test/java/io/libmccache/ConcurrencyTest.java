package io.libmccache;

import static io.libmccache.Bytes.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {
    /** Runs workers until each sees ECLOSED; anything else they throw is collected. */
    static final class Workers {
        final List<Thread> threads = new ArrayList<>();
        final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        final AtomicLong ops = new AtomicLong();
        final CountDownLatch started;

        Workers(int n, Cache cache) {
            started = new CountDownLatch(n);
            for (int t = 0; t < n; t++) {
                final int id = t;
                threads.add(new Thread(() -> run(id, cache), "worker-" + t));
            }
        }

        void run(int id, Cache cache) {
            started.countDown();
            byte[] value = Bytes.filled(64, id);
            for (long i = 0;; i++) {
                byte[] key = b("k" + (i % 1000));
                try {
                    switch ((int) (i % 4)) {
                        case 0 -> cache.put(key, value);
                        case 1 -> cache.get(key);
                        case 2 -> cache.delete(key);
                        default -> cache.getBatch(key, b("other"));
                    }
                    ops.incrementAndGet();
                } catch (MccacheException e) {
                    if (e.errorCode() != ErrorCode.ECLOSED) failures.add(e);
                    return;
                } catch (Throwable e) {
                    failures.add(e);
                    return;
                }
            }
        }

        void start() throws InterruptedException {
            threads.forEach(Thread::start);
            assertTrue(started.await(10, TimeUnit.SECONDS));
        }

        void join() throws InterruptedException {
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertTrue(!t.isAlive(), t.getName() + " still running after close");
            }
            if (!failures.isEmpty()) throw new AssertionError("worker failed", failures.peek());
        }
    }

    @Test
    void closeRacingWithCallsOnlyEverYieldsEclosed() throws InterruptedException {
        for (int round = 0; round < 5; round++) {
            long base = Native.liveListenerRefs();
            Node node = Local.open();
            Cache cache = node.cache("race");
            AtomicLong events = new AtomicLong();
            cache.setChangeListener(e -> events.incrementAndGet());
            Workers w = new Workers(4, cache);
            w.start();
            Await.until(() -> w.ops.get() > 2000 && events.get() > 100, "workers and events to get going");
            node.close();
            w.join();
            assertEquals(base, Native.liveListenerRefs(), "the listener released exactly once");
        }
    }

    @Test
    void concurrentClosersAllReturnWithTheNodeClosed() throws InterruptedException {
        for (int round = 0; round < 10; round++) {
            Node node = Local.open();
            node.cache("c").putString("k", "v");
            CountDownLatch go = new CountDownLatch(1);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> closers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                        node.close();
                        if (!node.isClosed()) failures.add(new AssertionError("close returned before closed"));
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                });
                t.start();
                closers.add(t);
            }
            go.countDown();
            for (Thread t : closers) t.join(TimeUnit.SECONDS.toMillis(30));
            if (!failures.isEmpty()) throw new AssertionError("closer failed", failures.peek());
            assertTrue(node.isClosed());
        }
    }
}
