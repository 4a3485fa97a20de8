package io.libmccache;

import static io.libmccache.Bytes.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TtlTest {
    /** Writes read a coarse clock that may lag the exact one by a few milliseconds. */
    static final long CLOCK_SLACK_MS = 50;

    @Test
    void entriesExpireAfterTheirTtl() {
        try (Node node = Local.open()) {
            Cache cache = node.cache("ttl");
            long before = System.currentTimeMillis();
            cache.put(b("k"), b("v"), Duration.ofMillis(80));
            long expires = cache.metadata(b("k")).expiresMs();
            long after = System.currentTimeMillis();
            assertTrue(expires >= before + 80 - CLOCK_SLACK_MS && expires <= after + 80,
                    "expires " + expires + ", written between " + before + " and " + after);
            Await.until(() -> !cache.contains(b("k")), "the entry to expire");
            assertTrue(System.currentTimeMillis() >= expires, "not before its expiry time");
            assertEquals(null, cache.get(b("k")));
            assertEquals(0, cache.len());
        }
    }

    @Test
    void defaultTtlComesFromTheCachesSettingAndNeverMeansNever() {
        try (Config c = Local.config().set("short.cache_ttl", "100ms"); Node node = Node.open(c)) {
            Cache cache = node.cache("short");
            cache.put(b("default"), b("v"));
            cache.put(b("forever"), b("v"), Cache.TTL_NEVER);
            assertEquals(-1, cache.metadata(b("forever")).expiresMs());
            assertTrue(cache.metadata(b("default")).expires().isPresent());
            Await.until(() -> !cache.contains(b("default")), "the default TTL to run out");
            node.housekeep();
            assertTrue(cache.contains(b("forever")));
            assertFalse(cache.contains(b("default")));
            assertEquals(1, cache.len());
        }
    }
}
