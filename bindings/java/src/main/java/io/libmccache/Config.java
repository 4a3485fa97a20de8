package io.libmccache;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings for {@link Node#open(Config)}: defaults, then an INI file, the
 * {@code MCCACHE_*} environment and explicit {@link #set} calls, with that
 * precedence whatever the order of the calls. Keys are listed in
 * {@code docs/CONFIG.md}; per-cache keys take the form {@code NAME.key}.
 *
 * <p>The node copies the settings, so a Config may be closed right after
 * {@code Node.open}. Methods are synchronized: a Config may be shared, and
 * {@link #close()} never frees it under a running call.
 */
public final class Config implements AutoCloseable {
    private long handle;

    /** A configuration holding the built-in defaults. */
    public Config() {
        Native.ensureLoaded();
        handle = Native.configNew();
    }

    private long live() {
        if (handle == 0) throw new MccacheException(ErrorCode.ECLOSED, "config is closed");
        return handle;
    }

    /**
     * Sets one setting, e.g. {@code set("cache_ttl", "30s")}.
     *
     * @throws MccacheException ECONFIG for an unknown key or an invalid value
     */
    public synchronized Config set(String key, String value) {
        Native.configSet(live(), Utf8.encode(key, "key"), Utf8.encode(value, "value"));
        return this;
    }

    /** Sets a numeric setting. */
    public Config set(String key, long value) {
        return set(key, Long.toString(value));
    }

    /**
     * Loads an INI file: section {@code [mccache]} for the node, {@code [NAME]} for cache NAME.
     * On error the configuration is unchanged.
     *
     * @throws MccacheException EIO if unreadable, ECONFIG for a bad line (the message names path:line)
     */
    public synchronized Config loadFile(Path path) {
        Objects.requireNonNull(path, "path");
        Native.configLoadFile(live(), Utf8.encode(path.toString(), "path"));
        return this;
    }

    /** Loads the {@code MCCACHE_<KEY>} environment variables. */
    public synchronized Config loadEnv() {
        Native.configLoadEnv(live());
        return this;
    }

    /**
     * The effective value of a setting as text; secrets read back as "(set)" or "".
     *
     * @throws MccacheException ECONFIG for an unknown key
     */
    public synchronized String get(String key) {
        return Utf8.decode(Native.configGet(live(), Utf8.encode(key, "key")));
    }

    /** The settings as JSON, with the source of every value (secrets masked). */
    public synchronized String toJson() {
        return Utf8.decode(Native.configToJson(live()));
    }

    /** The native handle, for Node.open; the caller holds this object's lock. */
    long handleLocked() {
        return live();
    }

    /** Frees the native configuration. Idempotent. */
    @Override
    public synchronized void close() {
        if (handle != 0) {
            Native.configFree(handle);
            handle = 0;
        }
    }
}
