package io.libmccache;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * A view of one named cache of a {@link Node}. Keys and values are byte
 * arrays, copied in and out on every call; the String methods encode UTF-8.
 *
 * <p>The cache belongs to the node, as in C: {@link Node#cache(String)} may
 * return several views of it, all thread-safe. Closing a view makes that view
 * unusable and removes the change listener it installed; the entries stay
 * until the node closes. Closing the node closes every view.
 */
public final class Cache implements AutoCloseable {
    /** TTL meaning "the cache's configured {@code cache_ttl}" (C: MCCACHE_TTL_DEFAULT). */
    public static final Duration TTL_DEFAULT = Duration.ZERO;

    /** TTL meaning "never expires" (C: MCCACHE_TTL_NEVER); the entry may still be evicted. */
    public static final Duration TTL_NEVER = ChronoUnit.FOREVER.getDuration();

    /** Beyond this a TTL leaves the range of epoch milliseconds: it means never. */
    private static final Duration MAX_FINITE_TTL = Duration.ofMillis(Long.MAX_VALUE - 1);

    private final Node node;
    private final long handle;
    private final String name;
    private volatile boolean closed;

    Cache(Node node, long handle) {
        this.node = node;
        this.handle = handle;
        this.name = Utf8.decode(Native.cacheName(handle));
    }

    private long h() {
        if (closed) throw new MccacheException(ErrorCode.ECLOSED, "this Cache view of \"" + name + "\" is closed");
        return handle;
    }

    /** The cache's name. */
    public String name() {
        return name;
    }

    /** The node the cache belongs to. */
    public Node node() {
        return node;
    }

    /**
     * The value stored under {@code key}, or null if there is none (absent or expired).
     *
     * @throws MccacheException EINVAL for an empty key, ETOOBIG for a key over max_key_size
     */
    public byte[] get(byte[] key) {
        long h = h();
        int klen = Objects.requireNonNull(key, "key").length;
        Scratch s;
        if (klen > Scratch.SIZE || (s = Scratch.acquire()) == null) return Native.get(h, key);
        try {
            s.buf.put(0, key);
            int n = Native.getDirect(h, s, null, s.address, klen, Scratch.SIZE);
            if (n < 0) return null;
            if (n > Scratch.SIZE) return s.takeBig();
            byte[] out = new byte[n];
            s.buf.get(0, out);
            return out;
        } finally {
            s.release();
        }
    }

    /**
     * Copies the value stored under {@code key} into {@code dst} without
     * allocating. Returns the value's size, or -1 if there is none. If the size
     * is larger than {@code dst.length}, nothing is copied: retry with a larger array.
     */
    public int get(byte[] key, byte[] dst) {
        long h = h();
        int klen = Objects.requireNonNull(key, "key").length;
        Objects.requireNonNull(dst, "dst");
        Scratch s;
        if (klen > Scratch.SIZE || (s = Scratch.acquire()) == null) return Native.getInto(h, key, dst);
        try {
            s.buf.put(0, key);
            int cap = Math.min(dst.length, Scratch.SIZE);
            int n = Native.getDirect(h, s, dst, s.address, klen, cap);
            if (n >= 0 && n <= cap) s.buf.get(0, dst, 0, n);
            return n;
        } finally {
            s.release();
        }
    }

    /** Stores {@code value} under {@code key} with the cache's default TTL. */
    public void put(byte[] key, byte[] value) {
        put(key, value, TTL_DEFAULT);
    }

    /**
     * Stores {@code value} under {@code key}, expiring after {@code ttl}
     * (rounded up to a millisecond). {@link #TTL_DEFAULT} uses the cache's
     * {@code cache_ttl}; {@link #TTL_NEVER} (or any TTL beyond the range of
     * epoch milliseconds) never expires.
     *
     * @throws MccacheException EINVAL for an empty key or a negative TTL,
     *     ETOOBIG for a key or value over the limits (nothing is stored)
     */
    public void put(byte[] key, byte[] value, Duration ttl) {
        long h = h();
        int klen = Objects.requireNonNull(key, "key").length;
        int vlen = Objects.requireNonNull(value, "value").length;
        long ttlMs = ttlMillis(ttl);
        Scratch s;
        if ((long) klen + vlen > Scratch.SIZE || (s = Scratch.acquire()) == null) {
            Native.put(h, key, value, ttlMs);
            return;
        }
        try {
            s.buf.put(0, key).put(klen, value);
            Native.putDirect(h, s.address, klen, vlen, ttlMs);
        } finally {
            s.release();
        }
    }

    /**
     * Deletes the entry under {@code key}. A versioned tombstone is written
     * either way, so the delete also wins over older writes still in flight.
     *
     * @return true if there was an entry
     */
    public boolean delete(byte[] key) {
        long h = h();
        int klen = Objects.requireNonNull(key, "key").length;
        Scratch s;
        if (klen > Scratch.SIZE || (s = Scratch.acquire()) == null) return Native.delete(h, key);
        try {
            s.buf.put(0, key);
            return Native.deleteDirect(h, s.address, klen);
        } finally {
            s.release();
        }
    }

    /** Whether a live entry exists; unlike get, this is not counted as a lookup. */
    public boolean contains(byte[] key) {
        long h = h();
        int klen = Objects.requireNonNull(key, "key").length;
        Scratch s;
        if (klen > Scratch.SIZE || (s = Scratch.acquire()) == null) return Native.contains(h, key);
        try {
            s.buf.put(0, key);
            return Native.containsDirect(h, s.address, klen);
        } finally {
            s.release();
        }
    }

    /**
     * The value stored under {@code key}, computing it with {@code mappingFunction} when it is
     * absent, as Caffeine's {@code Cache.get(key, mappingFunction)}: the computed value is stored
     * with the cache's {@code cache_ttl} and replicated.
     *
     * <p>Concurrent callers of one key on a node wait for one computation; in a cache of mode
     * {@code replicate}, one computation serves the whole cluster (the member that misses first
     * takes the key's load lease; callers on other members wait for its value, or take over when it
     * goes down or its lease runs out). The function runs on the calling thread, at most once per
     * call. If it returns null, nothing is stored and null is returned (to every waiter). If it
     * throws, the exception propagates to this caller unchanged, and the callers that waited for it
     * get a {@link MccacheException} with {@link ErrorCode#EUSER} and the exception's text. A
     * waiter waits at most twice the cache's {@code load_lease} ({@link ErrorCode#ETIMEDOUT}).
     *
     * @throws MccacheException EINVAL for an empty key, ETOOBIG for a key or value over the limits,
     *     EUSER for another caller's failed computation, ETIMEDOUT, ECLOSED
     */
    public byte[] get(byte[] key, Function<byte[], byte[]> mappingFunction) {
        long h = h();
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(mappingFunction, "mappingFunction");
        return Native.getOrLoad(h, key, mappingFunction);
    }

    /**
     * {@code fn} memoized in this cache: the returned function answers a key this cache holds from
     * the cache, and otherwise calls {@code fn} through {@link #get(byte[], Function)}.
     */
    public Function<byte[], byte[]> memoize(Function<byte[], byte[]> fn) {
        Objects.requireNonNull(fn, "fn");
        return key -> get(key, fn);
    }

    /**
     * Invalidates every entry of a cache with a {@code key_prefix} or {@code key_version}, on
     * every member, at O(1) cost.
     *
     * @return the new generation
     * @throws MccacheException EINVAL when the cache has no namespace
     */
    public long bumpNamespace() {
        return Native.namespaceBump(h());
    }

    /** The number of live entries. */
    public long len() {
        return Native.len(h());
    }

    /** Removes every entry (each reported to the change listener as a delete). */
    public void clear() {
        Native.clear(h());
    }

    /** Metadata of the entry under {@code key}, or null if there is none. Not a lookup. */
    public Metadata metadata(byte[] key) {
        long[] f = new long[Metadata.FIELDS];
        if (!Native.metadata(h(), Objects.requireNonNull(key, "key"), f)) return null;
        return Metadata.of(f);
    }

    /**
     * Gets several keys in one native call.
     *
     * @return one element per key: the value, or null where the key is missing
     * @throws MccacheException EINVAL or ETOOBIG if any key is invalid (the message names its index)
     */
    public byte[][] getBatch(byte[]... keys) {
        Objects.requireNonNull(keys, "keys");
        return Native.getBatch(h(), keys);
    }

    /** Puts several entries in one native call, with the cache's default TTL. */
    public void putBatch(byte[][] keys, byte[][] values) {
        putBatch(keys, values, TTL_DEFAULT);
    }

    /**
     * Puts several entries in one native call, all with the same TTL.
     * Either every entry is valid and stored, or none is.
     */
    public void putBatch(byte[][] keys, byte[][] values, Duration ttl) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (keys.length != values.length) {
            throw new MccacheException(ErrorCode.EINVAL,
                    "putBatch: " + keys.length + " keys but " + values.length + " values");
        }
        Native.putBatch(h(), keys, values, ttlMillis(ttl));
    }

    /** The order-independent digest of every live entry (0 when empty). */
    public long checksum() {
        return Native.checksum(h());
    }

    /** The checksum of the entry under {@code key}, or empty if there is none. */
    public OptionalLong keyChecksum(byte[] key) {
        long[] out = new long[1];
        if (!Native.keyChecksum(h(), Objects.requireNonNull(key, "key"), out)) return OptionalLong.empty();
        return OptionalLong.of(out[0]);
    }

    /** This cache's metrics as JSON. */
    public String metricsJson() {
        return Utf8.decode(Native.cacheMetricsJson(h()));
    }

    /**
     * Calls {@code action} with every live entry's key and value, one shard
     * snapshot at a time: an entry live for the whole walk is seen exactly once;
     * entries written meanwhile may or may not be. Not a lookup. Exceptions
     * thrown by {@code action} stop the walk and propagate.
     */
    public void forEach(BiConsumer<byte[], byte[]> action) {
        Native.forEach(h(), Objects.requireNonNull(action, "action"));
    }

    /**
     * Calls {@code listener} for every change to this cache, replacing the
     * listener installed earlier through any view; null removes it.
     *
     * <p>The listener runs on the node's callback thread ({@code mccache-callbacks}),
     * never on the thread that wrote, with this cache's changes in the order
     * they were made. It should return quickly: the node's other listeners
     * wait behind it, and events past {@code event_queue_max} are dropped
     * (and counted). It never delays the network: replication, heartbeats
     * and repairs run on another thread. It may call this API, except
     * {@link Node#close()}, {@link Node#housekeep()} and the cluster collect
     * of its own node (EBUSY). Exceptions it throws go to the thread's
     * uncaught-exception handler. The listener is released once it
     * can no longer be called: on replacement, removal, or close of this view or
     * of the node.
     */
    public void setChangeListener(ChangeListener listener) {
        node.setChangeListener(this, h(), listener);
    }

    // ---- String conveniences (UTF-8) ----

    /** {@link #get(byte[])} with UTF-8 key and value. */
    public String getString(String key) {
        return Utf8.decode(get(Utf8.encode(key, "key")));
    }

    /** {@link #put(byte[], byte[])} with UTF-8 key and value. */
    public void putString(String key, String value) {
        put(Utf8.encode(key, "key"), Utf8.encode(value, "value"));
    }

    /** {@link #put(byte[], byte[], Duration)} with UTF-8 key and value. */
    public void putString(String key, String value, Duration ttl) {
        put(Utf8.encode(key, "key"), Utf8.encode(value, "value"), ttl);
    }

    /** {@link #delete(byte[])} with a UTF-8 key. */
    public boolean delete(String key) {
        return delete(Utf8.encode(key, "key"));
    }

    /** {@link #contains(byte[])} with a UTF-8 key. */
    public boolean contains(String key) {
        return contains(Utf8.encode(key, "key"));
    }

    /** Whether this view has been closed (by itself; see {@link Node#isClosed()}). */
    public boolean isClosed() {
        return closed;
    }

    /** Closes this view and removes the change listener it installed, if still current. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        node.releaseListenerOf(this, handle);
    }

    @Override
    public String toString() {
        return "Cache[" + name + (closed ? ", closed]" : "]");
    }

    /** The C handle, for the C-API baseline of BindingBench (BenchNatives). */
    long handleForBench() {
        return handle;
    }

    static long ttlMillis(Duration ttl) {
        if (ttl == TTL_DEFAULT) return 0;
        if (ttl == TTL_NEVER) return -1;
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative()) {
            throw new MccacheException(ErrorCode.EINVAL, "ttl " + ttl + " is negative");
        }
        if (ttl.isZero()) return 0;
        if (ttl.compareTo(MAX_FINITE_TTL) > 0) return -1;
        long ms = ttl.toMillis();
        // Round up: a sub-millisecond remainder must not shorten the TTL, nor make it 0 (the default).
        return ttl.getNano() % 1_000_000 == 0 ? ms : ms + 1;
    }
}
