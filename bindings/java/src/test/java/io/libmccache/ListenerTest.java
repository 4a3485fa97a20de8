package io.libmccache;

import static io.libmccache.Bytes.b;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ListenerTest {
    Node node;
    Cache cache;
    long baseRefs;

    @BeforeEach
    void open() {
        baseRefs = Native.liveListenerRefs();
        node = Local.open();
        cache = node.cache("events");
    }

    @AfterEach
    void close() {
        node.close();
        assertEquals(baseRefs, Native.liveListenerRefs(), "every listener released by close");
    }

    static final class Recorder implements ChangeListener {
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        final Set<Thread> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public void onChange(Event event) {
            threads.add(Thread.currentThread());
            events.add(event);
        }

        Event next() throws InterruptedException {
            return Await.next(events, "a change event");
        }

        /** Skips events until one for key. */
        Event nextFor(String key) throws InterruptedException {
            for (;;) {
                Event e = next();
                if (e.keyString().equals(key)) return e;
            }
        }
    }

    /**
     * Writes a marker to the cache and waits until a new listener sees it.
     * Events of one cache are delivered in order, so by then every event of
     * an earlier write has been delivered (or dropped, if no listener was
     * there to take it): checks for the absence of an event come after this.
     */
    void drainEventsOf(Cache c) throws InterruptedException {
        Recorder marker = new Recorder();
        c.setChangeListener(marker);
        c.putString("marker", "m");
        marker.nextFor("marker");
    }

    @Test
    void eventsDescribeEachChange() throws InterruptedException {
        Recorder r = new Recorder();
        cache.setChangeListener(r);
        cache.put(b("k"), b("v1"));
        cache.put(b("k"), b("v2"));
        cache.delete(b("k"));

        Event insert = r.next();
        assertEquals(EventType.INSERT, insert.type());
        assertEquals(Origin.LOCAL, insert.origin());
        assertSame(cache, insert.cache());
        assertEquals("k", insert.keyString());
        assertEquals("v1", insert.valueString());
        assertEquals(node.id(), insert.versionNode());
        assertTrue(insert.timeMs() > 0);
        Event update = r.next();
        assertEquals(EventType.UPDATE, update.type());
        assertArrayEquals(b("v2"), update.value());
        assertTrue(Long.compareUnsigned(update.versionHlc(), insert.versionHlc()) > 0);
        Event delete = r.next();
        assertEquals(EventType.DELETE, delete.type());
        assertEquals("k", delete.keyString());
    }

    @Test
    void eventsRunOnOneDaemonCallbackThreadAttachedOnce() throws InterruptedException {
        Recorder first = new Recorder();
        cache.setChangeListener(first);
        for (int i = 0; i < 50; i++) cache.putString("k" + i, "v");
        for (int i = 0; i < 50; i++) first.next();
        Recorder second = new Recorder();
        node.cache("other").setChangeListener(second);
        node.cache("other").putString("x", "y");
        second.next();

        Set<Thread> all = new HashSet<>(first.threads);
        all.addAll(second.threads);
        assertEquals(1, all.size(), "one Thread object: the callback thread stayed attached");
        Thread callbacks = all.iterator().next();
        assertNotEquals(Thread.currentThread(), callbacks);
        assertTrue(callbacks.isDaemon());
        assertEquals("mccache-callbacks", callbacks.getName());
    }

    @Test
    void clearReportsDeletesAndTtlReportsExpiry() throws InterruptedException {
        Recorder r = new Recorder();
        cache.putString("a", "1");
        cache.putString("b", "2");
        cache.setChangeListener(r);
        cache.clear();
        Set<String> deleted = new HashSet<>();
        deleted.add(r.next().keyString());
        deleted.add(r.next().keyString());
        assertEquals(Set.of("a", "b"), deleted);

        cache.putString("short", "x", Duration.ofMillis(30));
        assertEquals(EventType.INSERT, r.next().type());
        Await.until(() -> cache.getString("short") == null, "the entry to expire");
        node.housekeep();
        Event expired = r.next();
        assertEquals(EventType.EXPIRE, expired.type());
        assertEquals("short", expired.keyString());
    }

    @Test
    void aThrowingListenerDoesNotStopDelivery() throws InterruptedException {
        BlockingQueue<Throwable> reported = new LinkedBlockingQueue<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> reported.add(e));
        try {
            BlockingQueue<String> keys = new LinkedBlockingQueue<>();
            cache.setChangeListener(e -> {
                keys.add(e.keyString());
                if (e.keyString().equals("boom")) throw new IllegalStateException("listener failed");
            });
            cache.putString("boom", "1");
            cache.putString("after", "2");
            assertEquals("boom", Await.next(keys, "boom"));
            assertEquals("after", Await.next(keys, "after"));
            assertEquals("listener failed", Await.next(reported, "the reported exception").getMessage());
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void listenersMayCallTheApiButNotCloseOrHousekeepTheirNode() throws InterruptedException {
        BlockingQueue<Object> results = new LinkedBlockingQueue<>();
        Cache mirror = node.cache("mirror");
        cache.setChangeListener(e -> {
            mirror.put(e.key(), e.value());
            try {
                node.close();
                results.add("closed?!");
            } catch (MccacheException ex) {
                results.add(ex.errorCode());
            }
            try {
                node.housekeep();
                results.add("housekept?!");
            } catch (MccacheException ex) {
                results.add(ex.errorCode());
            }
        });
        cache.putString("k", "v");
        assertEquals(ErrorCode.EBUSY, Await.next(results, "close from the listener"));
        assertEquals(ErrorCode.EBUSY, Await.next(results, "housekeep from the listener"));
        assertEquals("v", mirror.getString("k"));
        assertTrue(!node.isClosed());
    }

    @Test
    void eachListenerGlobalRefIsReleasedExactlyOnce() throws InterruptedException {
        Recorder a = new Recorder();
        cache.setChangeListener(a);
        assertEquals(baseRefs + 1, Native.liveListenerRefs());
        WeakReference<Recorder> weakA = new WeakReference<>(a);
        a = null;

        Recorder b = new Recorder();
        cache.setChangeListener(b); // replaces a, released on the callback thread
        Await.until(() -> Native.liveListenerRefs() == baseRefs + 1, "the replaced listener to be released");
        awaitCollected(weakA);

        cache.putString("k", "v");
        assertEquals("k", b.next().keyString());
        cache.setChangeListener(null);
        Await.until(() -> Native.liveListenerRefs() == baseRefs, "the removed listener to be released");
        cache.putString("k2", "v");
        drainEventsOf(cache);
        for (Event e : b.events) assertNotEquals("k2", e.keyString());

        cache.setChangeListener(new Recorder());
        node.close(); // releases it on this thread
        assertEquals(baseRefs, Native.liveListenerRefs());
    }

    @Test
    void closingAViewRemovesOnlyItsOwnListener() throws InterruptedException {
        Cache view1 = node.cache("events");
        Cache view2 = node.cache("events");
        Recorder r = new Recorder();
        view1.setChangeListener(r);
        view2.close(); // not the owner: the listener stays
        cache.putString("k", "v");
        assertEquals("k", r.next().keyString());
        assertEquals(baseRefs + 1, Native.liveListenerRefs());
        view1.close();
        Await.until(() -> Native.liveListenerRefs() == baseRefs, "the view's listener to be released");
        cache.putString("k2", "v");
        drainEventsOf(cache);
        assertNull(r.events.peek());
    }

    @Test
    void registeringOnAClosedNodeReleasesAtOnce() {
        node.close();
        MccacheException e = org.junit.jupiter.api.Assertions.assertThrows(MccacheException.class,
                () -> cache.setChangeListener(new Recorder()));
        assertEquals(ErrorCode.ECLOSED, e.errorCode());
        assertEquals(baseRefs, Native.liveListenerRefs());
    }

    static void awaitCollected(WeakReference<?> ref) {
        Await.until(() -> {
            System.gc();
            return ref.get() == null;
        }, "the released listener to be garbage collected");
    }
}
