package io.libmccache;

import static io.libmccache.Loopback.hex;
import static io.libmccache.Loopback.lists;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two or three real members in this JVM, on loopback (see {@link Loopback}):
 * membership, anti-entropy, cluster-wide queries and keys. Every wait has a
 * deadline.
 */
class ClusterTest {
    static final Duration QUERY_TIMEOUT = Duration.ofSeconds(5);

    long baseRefs;
    final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void countRefs() {
        baseRefs = Native.liveListenerRefs();
    }

    @AfterEach
    void closeAll() {
        for (Node n : nodes) n.close();
        assertEquals(baseRefs, Native.liveListenerRefs(), "every listener released by close");
    }

    Node open(Loopback net, int index, String... settings) {
        Node n = net.open(index, settings);
        nodes.add(n);
        return n;
    }

    /** Until each node lists every other as alive. */
    static void awaitMembership(Node... ns) {
        Await.until(() -> {
            for (Node n : ns) {
                String json = n.membersJson();
                for (Node other : ns) {
                    if (other != n && !lists(json, other.id(), "alive")) return false;
                }
            }
            return true;
        }, "the members to see each other");
    }

    static final class Members implements MemberListener {
        final List<MemberEvent> events = new ArrayList<>();
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();

        @Override
        public synchronized void onMember(MemberEvent event) {
            threads.add(Thread.currentThread());
            events.add(event);
        }

        synchronized MemberEvent find(Set<MemberEventType> types, long id) {
            for (MemberEvent e : events) {
                if (types.contains(e.type()) && e.nodeId() == id) return e;
            }
            return null;
        }

        MemberEvent await(Set<MemberEventType> types, long id) {
            Await.until(() -> find(types, id) != null, types + " of " + hex(id));
            return find(types, id);
        }
    }

    /**
     * Two new keys with different key ids: two random keys share one with a
     * chance of 1 in 255, and setKeys refuses such a pair (ECONFIG).
     */
    static String[] twoKeys() {
        try (Node probe = Local.open()) {
            for (int attempt = 0; ; attempt++) {
                String k1 = Node.generateKey();
                String k2 = Node.generateKey();
                try {
                    probe.setKeys(k1, k2);
                    return new String[] {k1, k2};
                } catch (MccacheException e) {
                    if (e.errorCode() != ErrorCode.ECONFIG || attempt == 10) throw e;
                }
            }
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static long metric(Node n, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(n.metricsJson());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Test
    void memberListenerSeesTheOtherNodeJoinAndLeaveOnTheCallbackThread() {
        Loopback net = new Loopback("members", 2);
        Node a = open(net, 0);
        Members seen = new Members();
        a.setMemberListener(seen);
        assertEquals(baseRefs + 1, Native.liveListenerRefs());

        Node b = open(net, 1);
        long idB = b.id();
        MemberEvent joined = seen.await(Set.of(MemberEventType.JOINED), idB);
        assertSame(a, joined.node());
        assertEquals("127.0.0.1:" + net.port(1), joined.address());
        assertNotEquals(0, joined.incarnation());
        assertTrue(joined.lastSeenMs() > 0, joined.toString());
        assertTrue(Math.abs(System.currentTimeMillis() - joined.lastSeenMs()) < 60_000, joined.toString());

        // The goodbye is one datagram; if it were lost, a would declare b
        // down after member_timeout instead.
        b.close();
        seen.await(Set.of(MemberEventType.LEFT, MemberEventType.DOWN), idB);
        assertEquals(1, seen.threads.size(), "one Thread object: the callback thread stayed attached");
        Thread callbacks = seen.threads.iterator().next();
        assertNotEquals(Thread.currentThread(), callbacks);
        assertTrue(callbacks.isDaemon());
        assertEquals("mccache-callbacks", callbacks.getName());

        a.setMemberListener(null);
        Await.until(() -> Native.liveListenerRefs() == baseRefs, "the removed member listener to be released");
    }

    @Test
    void aThrowingMemberListenerIsReportedAndDeliveryGoesOn() {
        BlockingQueue<Throwable> reported = new LinkedBlockingQueue<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> reported.add(e));
        try {
            Loopback net = new Loopback("throwing", 2);
            Node a = open(net, 0);
            Members seen = new Members();
            a.setMemberListener(e -> {
                seen.onMember(e);
                if (e.type() == MemberEventType.JOINED) throw new IllegalStateException("member listener failed");
            });
            Node b = open(net, 1);
            long idB = b.id();
            seen.await(Set.of(MemberEventType.JOINED), idB);
            assertEquals("member listener failed", Await.next(reported, "the reported exception").getMessage());
            b.close();
            seen.await(Set.of(MemberEventType.LEFT, MemberEventType.DOWN), idB);

            // Replacing the listener releases the first one.
            a.setMemberListener(new Members());
            Await.until(() -> Native.liveListenerRefs() == baseRefs + 1, "the replaced member listener to be released");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void membersJsonListsSelfAndTheOtherNode() {
        Loopback net = new Loopback("list", 2);
        Node a = open(net, 0);
        Node b = open(net, 1);
        awaitMembership(a, b);
        String json = a.membersJson();
        assertTrue(json.startsWith("{\"self\":{\"id\":\"" + hex(a.id()) + "\",\"address\":\"127.0.0.1:"
                + net.port(0) + "\"}"), json);
        assertTrue(json.contains("{\"id\":\"" + hex(b.id()) + "\",\"address\":\"127.0.0.1:" + net.port(1)
                + "\",\"state\":\"alive\""), json);
        String fromB = b.membersJson();
        assertTrue(fromB.contains("\"self\":{\"id\":\"" + hex(b.id()) + "\""), fromB);
        assertTrue(lists(fromB, a.id(), "alive"), fromB);
    }

    @Test
    void nodesWithTheSameKeyReplicateAndANodeWithAnotherKeyDoesNot() {
        String[] keys = twoKeys();
        String k1 = keys[0];
        String k2 = keys[1];
        Loopback net = new Loopback("keys", 3);
        Node a = open(net, 0, "crypto_key", k1);
        Node b = open(net, 1, "crypto_key", k1);
        Node c = open(net, 2, "crypto_key", k2);
        awaitMembership(a, b);
        Cache ca = a.cache("secret");
        Cache cb = b.cache("secret");
        Cache cc = c.cache("secret");

        ca.putString("k", "sealed");
        Await.until(() -> "sealed".equals(cb.getString("k")), "the sealed write to reach b");
        // c hears a's datagrams but cannot open them. Loopback keeps a's
        // datagrams in order, so once more of them were refused after b had
        // the write, c has been offered the write too.
        long refused = metric(c, "auth_failed");
        Await.until(() -> metric(c, "auth_failed") > refused + 2, "c to refuse a's later datagrams");
        assertNull(cc.getString("k"));
        assertEquals(0, cc.len());
        assertFalse(c.membersJson().contains(hex(a.id())), c.membersJson());
        assertFalse(a.membersJson().contains(hex(c.id())), a.membersJson());
        assertTrue(metric(a, "auth_failed") > 0, a.metricsJson());

        // Rotation on c: seal with k1, still accept k2. It joins and catches up.
        c.setKeys(k1, k2);
        awaitMembership(a, b, c);
        c.sync();
        Await.until(() -> "sealed".equals(cc.getString("k")), "c to catch up once it has the key");
    }

    @Test
    void syncRepairsAMemberThatMissedWritesUntilChecksumsAreEqual() {
        String[] keys = twoKeys();
        String k1 = keys[0];
        String k2 = keys[1];
        Loopback net = new Loopback("sync", 2);
        String[] common = {"cache_pulse", "1d", "tombstone_ttl", "7d", "retransmit_buffer", "64KiB"};
        Node a = open(net, 0, concat(common, "crypto_key", k1));
        Node b = open(net, 1, concat(common, "crypto_key", k2));
        Cache ca = a.cache("shared");
        Cache cb = b.cache("shared");
        AtomicInteger repairs = new AtomicInteger();
        AtomicInteger remote = new AtomicInteger();
        cb.setChangeListener(e -> {
            if (e.origin() == Origin.REPAIR) repairs.incrementAndGet();
            if (e.origin() == Origin.REMOTE) remote.incrementAndGet();
        });
        // Different keys: neither hears the other while these are written.
        // 20 values of 8 KiB overflow a's 64 KiB retransmit buffer.
        String pad = "x".repeat(8 << 10);
        for (int i = 0; i < 20; i++) ca.putString("a" + i, "from a " + i + pad);
        for (int i = 0; i < 5; i++) cb.putString("b" + i, "from b " + i);
        assertNotEquals(ca.checksum(), cb.checksum());
        assertEquals(20, ca.len());
        assertEquals(5, cb.len());

        b.setKeys(k1, k2);
        awaitMembership(a, b);
        a.sync();
        b.sync();
        Await.until(() -> ca.checksum() == cb.checksum() && ca.len() == 25 && cb.len() == 25,
                "equal checksums after sync");
        assertEquals("from a 7" + pad, cb.getString("a7"));
        assertEquals("from b 3", ca.getString("b3"));
        // Each key b missed is reported once, as retransmitted (REMOTE) or,
        // past what could be retransmitted, repaired by anti-entropy (REPAIR).
        Await.until(() -> repairs.get() + remote.get() == 20, "b's events for the 20 keys it missed");

        // With cache_pulse at a day, a round now is the one sync() starts.
        long rounds = metric(a, "ae_rounds");
        long digests = metric(b, "ae_digests_received");
        a.sync();
        Await.until(() -> metric(a, "ae_rounds") > rounds, "a's sync round");
        Await.until(() -> metric(b, "ae_digests_received") > digests, "b to receive a's digests");
        assertEquals(ca.checksum(), cb.checksum());
    }

    @Test
    void clusterCollectAndRequestReachEveryMember() throws InterruptedException {
        Loopback net = new Loopback("query", 2);
        Node a = open(net, 0);
        Node b = open(net, 1);
        awaitMembership(a, b);
        Cache ca = a.cache("shared");
        Cache cb = b.cache("shared");
        ca.putString("k", "v");
        Await.until(() -> cb.len() == 1 && ca.checksum() == cb.checksum(), "the write to replicate");

        String sums = b.clusterCollect(QueryKind.CHECKSUMS, "shared", QUERY_TIMEOUT);
        assertTrue(sums.contains("\"members\":2"), sums);
        assertTrue(sums.contains("\"" + hex(a.id()) + "\":") && sums.contains("\"" + hex(b.id()) + "\":"), sums);
        String checksum = hex(ca.checksum());
        assertEquals(2, sums.split(checksum, -1).length - 1, "each member's checksum of shared: " + sums);

        String all = a.clusterCollect(QueryKind.CHECKSUMS, QUERY_TIMEOUT);
        assertTrue(all.contains("\"shared\""), all);
        String metrics = a.clusterCollect(QueryKind.METRICS, QUERY_TIMEOUT);
        assertTrue(metrics.contains("\"replies\"") && metrics.contains("\"members\":2"), metrics);

        record Reply(long member, String json, Thread thread) {}
        BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
        a.clusterRequest(QueryKind.METRICS, QUERY_TIMEOUT,
                (member, json) -> replies.add(new Reply(member, json, Thread.currentThread())));
        Set<Long> answered = new java.util.HashSet<>();
        Reply r;
        while ((r = Await.next(replies, "a reply")).member() != 0) {
            assertTrue(r.json().contains("\"node\""), r.json());
            assertEquals("mccache-callbacks", r.thread().getName());
            answered.add(r.member());
        }
        assertNull(r.json(), "the final call has no answer");
        assertEquals(Set.of(a.id(), b.id()), answered);
        Await.until(() -> Native.liveListenerRefs() == baseRefs, "the reply listener to be released after the final call");
        assertNull(replies.poll(), "nothing after the final call");

        BlockingQueue<Reply> one = new LinkedBlockingQueue<>();
        b.clusterRequest(QueryKind.CHECKSUMS, "shared", QUERY_TIMEOUT,
                (member, json) -> one.add(new Reply(member, json, null)));
        int answers = 0;
        while ((r = Await.next(one, "a checksum reply")).member() != 0) {
            assertTrue(r.json().contains(checksum), r.json());
            answers++;
        }
        assertEquals(2, answers);
    }

    @Test
    void aLoneNodeAnswersItsOwnQueriesAndCollectingFromAListenerIsBusy() throws InterruptedException {
        Loopback net = new Loopback("lone", 1);
        Node a = open(net, 0);
        Cache c = a.cache("c");
        String members = a.membersJson();
        assertTrue(members.contains("\"members\":[]"), members);
        a.sync();
        String sums = a.clusterCollect(QueryKind.CHECKSUMS, "c", QUERY_TIMEOUT);
        assertTrue(sums.contains("\"members\":1") && sums.contains(hex(a.id())), sums);

        BlockingQueue<Object> results = new LinkedBlockingQueue<>();
        c.setChangeListener(e -> {
            try {
                results.add(a.clusterCollect(QueryKind.METRICS, QUERY_TIMEOUT));
            } catch (MccacheException ex) {
                results.add(ex.errorCode());
            }
        });
        c.putString("k", "v");
        assertEquals(ErrorCode.EBUSY, Await.next(results, "collect from the listener"));

        // A request whose node closes first gets its final call during close.
        BlockingQueue<Long> calls = new LinkedBlockingQueue<>();
        a.clusterRequest(QueryKind.METRICS, Duration.ofSeconds(60), (member, json) -> calls.add(member));
        a.close();
        Long last = null;
        for (Long m; (m = calls.poll()) != null; ) last = m;
        assertEquals(0L, last, "the final call happened by the time close returned");
        assertEquals(baseRefs, Native.liveListenerRefs());
    }

    @Test
    void generateKeyGivesDistinct32ByteKeysAndSetKeysValidates() {
        String[] keys = twoKeys();
        String k1 = keys[0];
        String k2 = keys[1];
        assertEquals(44, k1.length());
        assertEquals(32, Base64.getDecoder().decode(k1).length);
        assertNotEquals(k1, k2);

        Loopback net = new Loopback("setkeys", 1);
        Node a = open(net, 0, "crypto_key", k1);
        a.setKeys(k1, k2); // rotation steps
        a.setKeys(k2, k1);
        a.setKeys(k2, null);
        a.setKeys(k1, k1); // the same key twice is one key
        a.setKeys(null, ""); // stop sealing
        a.setKeys("", null);

        MccacheException bad = assertEinval(() -> a.setKeys("not base64!", null));
        assertTrue(bad.getMessage().startsWith("MCCACHE_EINVAL: "), bad.getMessage());
        assertTrue(bad.getMessage().length() > "MCCACHE_EINVAL: ".length(), bad.getMessage());
        assertEinval(() -> a.setKeys(k1, "c2hvcnQ="));
        assertEinval(() -> a.setKeys(k1 + "\0", null));
        assertEinval(() -> a.setKeys(null, k2 + "\0"));

        Node required = open(new Loopback("required", 1), 0, "crypto_key", k1, "require_encryption", "true");
        MccacheException refused = assertEinval(() -> required.setKeys(null, k1));
        assertTrue(refused.getMessage().contains("require_encryption"), refused.getMessage());
        required.setKeys(k2, null); // sealing with another key is still allowed
    }

    static MccacheException assertEinval(org.junit.jupiter.api.function.Executable call) {
        MccacheException e = org.junit.jupiter.api.Assertions.assertThrows(MccacheException.class, call);
        assertEquals(ErrorCode.EINVAL, e.errorCode(), e.getMessage());
        return e;
    }
}
