package io.libmccache;

import java.util.function.BiConsumer;

/**
 * Every native method of the binding, so that {@code javac -h} generates one
 * header that the JNI glue must match. Handles are C pointers carried as
 * {@code long}; strings cross as UTF-8 {@code byte[]} without a NUL.
 * Failures throw {@link MccacheException} from the native side.
 *
 * <p>The benchmark's baselines (C loops, empty calls, array copies) are not
 * here: they are {@code BenchNatives} in the test sources, in a library of
 * their own, so that the production library carries no benchmark code.
 */
final class Native {
    private Native() {}

    static {
        NativeLoader.load();
    }

    /** Forces {@link NativeLoader#load()} from classes that only hold handles. */
    static void ensureLoaded() {}

    // ---- version and errors ----
    static native int version();

    /** MCCACHE_VERSION_NUMBER of the header the glue was compiled against. */
    static native int headerVersion();

    static native String versionString();

    static native String errName(int code);

    static native String strerror(int code);

    // ---- configuration ----
    static native long configNew();

    static native void configFree(long config);

    static native void configSet(long config, byte[] key, byte[] value);

    static native void configLoadFile(long config, byte[] path);

    static native void configLoadEnv(long config);

    static native byte[] configGet(long config, byte[] key);

    static native byte[] configToJson(long config);

    // ---- node ----
    /** @param config 0 for defaults plus the environment. */
    static native long open(long config);

    /** @return true if this call closed the node, false if it was already closed. */
    static native boolean close(long node);

    static native long nodeId(long node);

    static native byte[] nodeConfigJson(long node);

    static native byte[] metricsJson(long node);

    static native void housekeep(long node);

    /** @param binding null to go back to the configured log file. */
    static native void setLogListener(long node, LogBinding binding);

    // ---- cluster and security ----
    /** @param binding null to unregister. */
    static native void setMemberListener(long node, MemberBinding binding);

    static native byte[] membersJson(long node);

    static native void sync(long node);

    /** @param cache null for every cache. */
    static native void clusterRequest(long node, int kind, byte[] cache, int timeoutMs, ReplyBinding binding);

    /** @param cache null for every cache. */
    static native byte[] clusterCollect(long node, int kind, byte[] cache, int timeoutMs);

    /** @return the key as ASCII bytes (base64). */
    static native byte[] generateKey();

    /** Null keys mean none. */
    static native void setKeys(long node, byte[] sealKey, byte[] acceptKey);

    // ---- caches ----
    static native long cacheOpen(long node, byte[] name);

    /** The address of a direct buffer (for {@link Scratch}). */
    static native long address(java.nio.ByteBuffer direct);

    // The *Direct calls read the key at {@code address} and write a value
    // there; see Scratch. Keys and values never exceed the buffer.

    /**
     * @return -1 if absent, else the value's size. A value of at most cap
     *     bytes is copied to address; a larger one is copied into dst if it
     *     fits there, or, when dst is null, into a new array left in scratch.big.
     */
    static native int getDirect(long cache, Scratch scratch, byte[] dst, long address, int klen, int cap);

    /** The key at address, the value right after it. */
    static native void putDirect(long cache, long address, int klen, int vlen, long ttlMs);

    static native boolean deleteDirect(long cache, long address, int klen);

    static native boolean containsDirect(long cache, long address, int klen);

    static native byte[] cacheName(long cache);

    /** @return the value, or null if absent. */
    static native byte[] get(long cache, byte[] key);

    /**
     * mccache_get_or_load with {@code loader} run on this thread; null when the loader returned
     * null (nothing stored). An exception of the loader is rethrown as it was.
     */
    static native byte[] getOrLoad(long cache, byte[] key, java.util.function.Function<byte[], byte[]> loader);

    /** mccache_namespace_bump: the new generation. */
    static native long namespaceBump(long cache);

    /** @return the value's size (copied only if it fits in dst), or -1 if absent. */
    static native int getInto(long cache, byte[] key, byte[] dst);

    static native void put(long cache, byte[] key, byte[] value, long ttlMs);

    static native boolean delete(long cache, byte[] key);

    static native boolean contains(long cache, byte[] key);

    static native long len(long cache);

    static native void clear(long cache);

    /** @return false if absent; else out receives the fields in Metadata's order. */
    static native boolean metadata(long cache, byte[] key, long[] out);

    static native byte[][] getBatch(long cache, byte[][] keys);

    static native void putBatch(long cache, byte[][] keys, byte[][] values, long ttlMs);

    static native long checksum(long cache);

    /** @return false if absent; else out[0] receives the checksum. */
    static native boolean keyChecksum(long cache, byte[] key, long[] out);

    static native byte[] cacheMetricsJson(long cache);

    static native void forEach(long cache, BiConsumer<byte[], byte[]> action);

    /** @param binding null to unregister. */
    static native void setChangeListener(long cache, ChangeBinding binding);

    // ---- test hook (not API) ----
    /** Listener GlobalRefs taken and not yet released by an opaque_free. */
    static native long liveListenerRefs();
}
