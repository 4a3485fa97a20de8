package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
    @TempDir
    Path dir;

    @Test
    void setThenGet() {
        try (Config c = new Config()) {
            assertEquals("65536", c.get("cache_max"));
            c.set("cache_max", 1000).set("sessions.cache_ttl", "30s");
            assertEquals("1000", c.get("cache_max"));
            assertTrue(c.toJson().contains("\"sessions\""), c.toJson());
        }
    }

    @Test
    void longValuesComeBackWhole() {
        String path = "/tmp/" + "d".repeat(600) + "/mccache.log";
        try (Config c = new Config()) {
            c.set("log_filename", path);
            assertEquals(path, c.get("log_filename"));
        }
    }

    @Test
    void unknownKeyAndBadValueAreEconfigWithTheKeyNamed() {
        try (Config c = new Config()) {
            MccacheException e = assertThrows(MccacheException.class, () -> c.set("no_such_key", "1"));
            assertEquals(ErrorCode.ECONFIG, e.errorCode());
            assertTrue(e.getMessage().contains("no_such_key"), e.getMessage());
            e = assertThrows(MccacheException.class, () -> c.set("cache_max", "many"));
            assertEquals(ErrorCode.ECONFIG, e.errorCode());
            assertTrue(e.getMessage().contains("cache_max"), e.getMessage());
            e = assertThrows(MccacheException.class, () -> c.get("no_such_key"));
            assertEquals(ErrorCode.ECONFIG, e.errorCode());
        }
    }

    @Test
    void nulInAStringIsEinval() {
        try (Config c = new Config()) {
            MccacheException e = assertThrows(MccacheException.class, () -> c.set("cache\0max", "1"));
            assertEquals(ErrorCode.EINVAL, e.errorCode());
        }
    }

    @Test
    void loadFileAppliesSectionsAndReportsErrors() throws IOException {
        Path ini = dir.resolve("mccache.ini");
        Files.writeString(ini, "[mccache]\ncache_max = 77\n\n[orders]\ncache_ttl = 5s\n");
        try (Config c = new Config()) {
            c.loadFile(ini);
            assertEquals("77", c.get("cache_max"));
            assertEquals("5s", c.get("orders.cache_ttl"));
            assertTrue(c.toJson().contains("file:"), c.toJson());
        }
        Path bad = dir.resolve("bad.ini");
        Files.writeString(bad, "[mccache]\ncache_max = 1\nbogus_key = 3\n");
        try (Config c = new Config()) {
            MccacheException e = assertThrows(MccacheException.class, () -> c.loadFile(bad));
            assertEquals(ErrorCode.ECONFIG, e.errorCode());
            assertTrue(e.getMessage().contains("bad.ini:3"), e.getMessage());
            assertEquals("65536", c.get("cache_max"), "unchanged on error");
            e = assertThrows(MccacheException.class, () -> c.loadFile(dir.resolve("missing.ini")));
            assertEquals(ErrorCode.EIO, e.errorCode());
        }
    }

    @Test
    void loadEnvReadsMccacheVariables() {
        // Surefire sets MCCACHE_EVENT_QUEUE_MAX=4242 (pom.xml).
        try (Config c = new Config()) {
            assertEquals("65536", c.get("event_queue_max"));
            c.loadEnv();
            assertEquals("4242", c.get("event_queue_max"));
            assertTrue(c.toJson().contains("env:MCCACHE_EVENT_QUEUE_MAX"), c.toJson());
        }
    }

    @Test
    void apiSettersWinOverTheEnvironmentWhateverTheOrder() {
        try (Config c = new Config()) {
            c.set("event_queue_max", 99).loadEnv();
            assertEquals("99", c.get("event_queue_max"));
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsAreEclosed() {
        Config c = new Config();
        c.close();
        c.close();
        MccacheException e = assertThrows(MccacheException.class, () -> c.get("cache_max"));
        assertEquals(ErrorCode.ECLOSED, e.errorCode());
        assertThrows(MccacheException.class, () -> Node.open(c));
    }
}
