package io.libmccache;

import static io.libmccache.Bytes.b;
import static io.libmccache.Bytes.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class CacheTest {
    Node node;
    Cache cache;

    @BeforeEach
    void open() {
        try (Config c = Local.config().set("max_value_size", 100_000).set("max_key_size", 1024)) {
            node = Node.open(c);
        }
        cache = node.cache("test");
    }

    @AfterEach
    void close() {
        node.close();
    }

    static ErrorCode codeOf(Executable call) {
        return assertThrows(MccacheException.class, call).errorCode();
    }

    @Test
    void putGetDeleteContainsLen() {
        assertNull(cache.get(b("k")));
        assertFalse(cache.contains(b("k")));
        cache.put(b("k"), b("v1"));
        assertArrayEquals(b("v1"), cache.get(b("k")));
        assertTrue(cache.contains(b("k")));
        assertEquals(1, cache.len());
        cache.put(b("k"), b("v2"), Duration.ofMinutes(5));
        assertArrayEquals(b("v2"), cache.get(b("k")));
        assertTrue(cache.delete(b("k")));
        assertFalse(cache.delete(b("k")));
        assertNull(cache.get(b("k")));
        assertEquals(0, cache.len());
    }

    @Test
    void emptyValuesAndBinaryBytesRoundTrip() {
        cache.put(b("empty"), new byte[0]);
        assertArrayEquals(new byte[0], cache.get(b("empty")));
        byte[] key = {0, -1, 0, 7};
        byte[] value = Bytes.filled(256, 3);
        cache.put(key, value);
        assertArrayEquals(value, cache.get(key.clone()));
    }

    @Test
    void keysAndValuesLargerThanTheStackBuffersRoundTrip() {
        byte[] key = Bytes.filled(1000, 1);
        byte[] value = Bytes.filled(90_000, 2);
        cache.put(key, value);
        assertArrayEquals(value, cache.get(key));
        assertEquals(90_000, cache.metadata(key).valueSize());
        byte[] dst = new byte[100_000];
        assertEquals(90_000, cache.get(key, dst));
        assertArrayEquals(value, java.util.Arrays.copyOf(dst, 90_000));
        byte[] tooSmall = new byte[Scratch.SIZE + 1];
        assertEquals(90_000, cache.get(key, tooSmall));
        assertArrayEquals(new byte[Scratch.SIZE + 1], tooSmall, "nothing copied when too small");
    }

    @Test
    void aBusyScratchBufferFallsBackToArrays() {
        // As when a listener runs on the calling thread in the middle of a call.
        Scratch held = Scratch.acquire();
        try {
            assertNull(Scratch.acquire());
            cache.put(b("k"), b("v"));
            assertArrayEquals(b("v"), cache.get(b("k")));
            byte[] dst = new byte[4];
            assertEquals(1, cache.get(b("k"), dst));
            assertEquals('v', dst[0]);
            assertTrue(cache.contains(b("k")));
            assertTrue(cache.delete(b("k")));
            assertEquals(ErrorCode.EINVAL, codeOf(() -> cache.get(new byte[0])));
        } finally {
            held.release();
        }
        assertNull(cache.get(b("k")));
    }

    @Test
    void getIntoCopiesOnlyWhenItFits() {
        cache.put(b("k"), b("hello"));
        byte[] big = new byte[16];
        assertEquals(5, cache.get(b("k"), big));
        assertEquals("hello", new String(big, 0, 5, java.nio.charset.StandardCharsets.UTF_8));
        byte[] small = new byte[2];
        assertEquals(5, cache.get(b("k"), small));
        assertArrayEquals(new byte[2], small, "nothing copied when too small");
        assertEquals(-1, cache.get(b("absent"), big));
    }

    @Test
    void invalidArgumentsCarryCodesAndMessages() {
        MccacheException e = assertThrows(MccacheException.class, () -> cache.put(new byte[0], b("v")));
        assertEquals(ErrorCode.EINVAL, e.errorCode());
        assertEquals(-1, e.code());
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        assertEquals(ErrorCode.EINVAL, codeOf(() -> cache.get(new byte[0])));
        e = assertThrows(MccacheException.class, () -> cache.put(new byte[1025], b("v")));
        assertEquals(ErrorCode.ETOOBIG, e.errorCode());
        assertTrue(e.getMessage().contains("max_key_size"), e.getMessage());
        assertEquals(ErrorCode.ETOOBIG, codeOf(() -> cache.get(new byte[1025])));
        assertEquals(ErrorCode.ETOOBIG, codeOf(() -> cache.put(b("k"), new byte[100_001])));
        assertFalse(cache.contains(b("k")), "nothing stored");
        assertEquals(ErrorCode.EINVAL, codeOf(() -> cache.put(b("k"), b("v"), Duration.ofMillis(-5))));
        assertThrows(NullPointerException.class, () -> cache.put(null, b("v")));
        assertThrows(NullPointerException.class, () -> cache.get(null));
    }

    @Test
    void ttlConversion() {
        assertEquals(0, Cache.ttlMillis(Cache.TTL_DEFAULT));
        assertEquals(-1, Cache.ttlMillis(Cache.TTL_NEVER));
        assertEquals(1500, Cache.ttlMillis(Duration.ofMillis(1500)));
        assertEquals(1, Cache.ttlMillis(Duration.ofNanos(1)), "never rounds down to the default");
        assertEquals(3, Cache.ttlMillis(Duration.ofNanos(2_000_001)));
        assertEquals(-1, Cache.ttlMillis(Duration.ofMillis(Long.MAX_VALUE)));
        assertEquals(-1, Cache.ttlMillis(Duration.ofDays(365L * 1_000_000_000L)), "beyond long millis");
        assertEquals(0, Cache.ttlMillis(Duration.ofSeconds(0)));
    }

    @Test
    void metadataDescribesTheEntryWithoutCountingALookup() {
        assertNull(cache.metadata(b("k")));
        long before = System.currentTimeMillis();
        cache.put(b("k"), b("value"), Cache.TTL_NEVER);
        Metadata m = cache.metadata(b("k"));
        assertEquals(-1, m.expiresMs());
        assertTrue(m.expires().isEmpty());
        assertEquals(1, m.keySize());
        assertEquals(5, m.valueSize());
        assertEquals(0, m.lookups());
        assertEquals(0, m.lastLookupMs());
        assertEquals(node.id(), m.versionNode());
        assertTrue(m.createdMs() >= before - 1000 && m.updatedMs() >= m.createdMs(), m.toString());
        assertTrue(m.chargedBytes() >= 6);
        assertEquals(cache.keyChecksum(b("k")).getAsLong(), m.checksum());
        cache.get(b("k"));
        cache.get(b("k"));
        assertEquals(2, cache.metadata(b("k")).lookups());
        assertTrue(cache.metadata(b("k")).lastLookupMs() >= before - 1000);
    }

    @Test
    void batches() {
        cache.putBatch(new byte[][] {b("a"), b("b"), b("c")}, new byte[][] {b("1"), b("2"), b("3")});
        byte[][] got = cache.getBatch(b("a"), b("missing"), b("c"));
        assertEquals(3, got.length);
        assertArrayEquals(b("1"), got[0]);
        assertNull(got[1]);
        assertArrayEquals(b("3"), got[2]);
        assertEquals(0, cache.getBatch().length);
        cache.putBatch(new byte[0][], new byte[0][]);

        MccacheException e = assertThrows(MccacheException.class, () -> cache.getBatch(b("a"), new byte[0]));
        assertEquals(ErrorCode.EINVAL, e.errorCode());
        assertTrue(e.getMessage().contains("[1]"), e.getMessage());
        assertEquals(ErrorCode.EINVAL, codeOf(() -> cache.getBatch(b("a"), null)));

        e = assertThrows(MccacheException.class, () -> cache.putBatch(
                new byte[][] {b("x"), b("y")}, new byte[][] {b("1"), new byte[100_001]}, Duration.ofMinutes(1)));
        assertEquals(ErrorCode.ETOOBIG, e.errorCode());
        assertTrue(e.getMessage().contains("[1]"), e.getMessage());
        assertFalse(cache.contains(b("x")), "a bad entry stores none");
        assertEquals(ErrorCode.EINVAL, codeOf(() -> cache.putBatch(new byte[][] {b("x")}, new byte[0][])));
    }

    @Test
    void checksumsAreOrderIndependentSums() {
        assertEquals(0, cache.checksum());
        assertEquals(OptionalLong.empty(), cache.keyChecksum(b("a")));
        cache.putString("a", "1");
        cache.putString("b", "2");
        long sum = cache.keyChecksum(b("a")).getAsLong() + cache.keyChecksum(b("b")).getAsLong();
        assertEquals(sum, cache.checksum());
        assertNotEquals(0, sum);
        cache.delete("a");
        assertEquals(cache.keyChecksum(b("b")).getAsLong(), cache.checksum());
    }

    @Test
    void metricsJson() {
        cache.putString("k", "v");
        cache.getString("k");
        cache.getString("nope");
        String m = cache.metricsJson();
        assertTrue(m.contains("\"hits\":1") && m.contains("\"misses\":1"), m);
        assertTrue(node.metricsJson().contains("\"test\""));
    }

    @Test
    void forEachVisitsEveryEntryAndAllowsCallsBack() {
        Map<String, String> expected = new HashMap<>();
        for (int i = 0; i < 500; i++) {
            cache.putString("k" + i, "v" + i);
            expected.put("k" + i, "v" + i);
        }
        Map<String, String> seen = new HashMap<>();
        cache.forEach((k, v) -> {
            seen.put(s(k), s(v));
            assertTrue(cache.contains(k)); // re-entering the library from the action
        });
        assertEquals(expected, seen);
    }

    @Test
    void forEachStopsOnTheActionsException() {
        for (int i = 0; i < 10; i++) cache.putString("k" + i, "v");
        int[] calls = {0};
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.forEach((k, v) -> {
            if (++calls[0] == 3) throw new IllegalStateException("stop");
        }));
        assertEquals("stop", e.getMessage());
        assertEquals(3, calls[0]);
        cache.putString("still", "works");
    }

    @Test
    void clearRemovesEverything() {
        for (int i = 0; i < 20; i++) cache.putString("k" + i, "v");
        cache.clear();
        assertEquals(0, cache.len());
        assertEquals(0, cache.checksum());
    }

    @Test
    void stringConveniencesUseUtf8() {
        cache.putString("clé", "välue ✓");
        assertEquals("välue ✓", cache.getString("clé"));
        assertArrayEquals(b("välue ✓"), cache.get(b("clé")));
        assertTrue(cache.contains("clé"));
        cache.putString("short", "lived", Duration.ofHours(1));
        assertTrue(cache.delete("clé"));
        assertNull(cache.getString("clé"));
    }

    @Test
    void viewsShareTheCacheAndCloseIndependently() {
        Cache other = node.cache("test");
        cache.putString("k", "v");
        assertEquals("v", other.getString("k"));
        other.close();
        assertTrue(other.isClosed());
        assertEquals(ErrorCode.ECLOSED, codeOf(() -> other.getString("k")));
        assertEquals("v", cache.getString("k"));
        assertEquals("v", node.cache("test").getString("k"));
    }
}
