package io.libmccache;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One libmccache node: a set of named caches, the loop thread that runs
 * their housekeeping and the cluster, and the callback thread
 * ({@code mccache-callbacks}) that runs every listener.
 *
 * <p>All methods are thread-safe. {@link #close()} is idempotent and may race
 * with calls on other threads: calls already inside the C library finish
 * first, later ones (on this node or any of its caches) throw
 * {@link MccacheException} with {@link ErrorCode#ECLOSED}. The C handle
 * stays a valid token after close, so no Java-side lock or in-flight counter
 * is needed.
 *
 * <p>There is no finalizer or Cleaner: close nodes with try-with-resources.
 * A node whose listeners are registered is reachable from its callback
 * thread in any case.
 */
public final class Node implements AutoCloseable {
    private final long handle;
    private volatile boolean closed;
    // Which Cache view installed the current change listener, per C cache
    // handle, so that closing a view only removes its own listener.
    private final Map<Long, Cache> listenerOwners = new HashMap<>();

    private Node(long handle) {
        this.handle = handle;
    }

    /**
     * Opens a node with the given settings (copied: the Config may be closed afterwards).
     *
     * @throws MccacheException ECONFIG for inconsistent settings, EIO if the loop cannot start
     */
    public static Node open(Config config) {
        Objects.requireNonNull(config, "config");
        synchronized (config) {
            return new Node(Native.open(config.handleLocked()));
        }
    }

    /** Opens a node with the defaults plus the {@code MCCACHE_*} environment. */
    public static Node open() {
        Native.ensureLoaded();
        return new Node(Native.open(0));
    }

    /**
     * The cache {@code name} (1 to 255 bytes of UTF-8, no '.'), created on first use.
     * Each call returns a new view of the same C cache; see {@link Cache}.
     */
    public Cache cache(String name) {
        long c = Native.cacheOpen(handle, Utf8.encode(name, "name"));
        return new Cache(this, c);
    }

    /** The node's 64-bit id (configured {@code node_id}, or random). */
    public long id() {
        return Native.nodeId(handle);
    }

    /** The effective configuration as JSON, with the source of every value. */
    public String configJson() {
        return Utf8.decode(Native.nodeConfigJson(handle));
    }

    /** Metrics of the node and of each cache, as JSON (keys in docs/ARCHITECTURE.md). */
    public String metricsJson() {
        return Utf8.decode(Native.metricsJson(handle));
    }

    /**
     * Runs one housekeeping pass (expiry, tombstone collection) and waits for it.
     *
     * @throws MccacheException EBUSY when called from one of this node's listeners
     */
    public void housekeep() {
        Native.housekeep(handle);
    }

    /**
     * Sends the node's log lines to {@code listener} instead of the configured
     * log file; null goes back to the file (or stderr). Lines are delivered
     * asynchronously on the node's callback thread ({@code mccache-callbacks}),
     * never on the thread that logged, so a slow listener never stalls a
     * caller; lines past 1024 waiting are dropped and counted. Exceptions it
     * throws go to that thread's uncaught-exception handler.
     */
    public void setLogListener(LogListener listener) {
        Native.setLogListener(handle, listener == null ? null : new LogBinding(listener));
    }

    // ---- cluster ----

    /**
     * Calls {@code listener} when members join, leave, go down, recover or
     * restart, replacing an earlier listener; null unregisters. The listener
     * runs on the node's callback thread with the rules of a {@link ChangeListener}:
     * it should return quickly, and exceptions it throws go to that thread's
     * uncaught-exception handler. It is released when replaced, removed, or
     * when the node closes.
     *
     * @throws MccacheException ECLOSED after close
     */
    public void setMemberListener(MemberListener listener) {
        Native.setMemberListener(handle, listener == null ? null : new MemberBinding(this, listener));
    }

    /**
     * The members this node knows, as JSON:
     * {@code {"self":{"id":HEX,"address":"ip:port"},"members":[{"id":HEX,
     * "address":"ip:port","state":"alive|down|left","last_seen_ms":N}]}}.
     * Ids are 16 lower-case hex digits ({@code String.format("%016x", id)}).
     *
     * @throws MccacheException ECLOSED after close
     */
    public String membersJson() {
        return Utf8.decode(Native.membersJson(handle));
    }

    /**
     * Starts an anti-entropy round with every member now and returns at once;
     * repairs follow asynchronously and are reported to change listeners
     * with {@link Origin#REPAIR}. Rounds also run every {@code cache_pulse}.
     *
     * @throws MccacheException ECLOSED after close
     */
    public void sync() {
        Native.sync(handle);
    }

    /**
     * Asks every member (this node included) for {@code kind} of every cache,
     * and returns at once; see {@link #clusterRequest(QueryKind, String, Duration, ReplyListener)}.
     */
    public void clusterRequest(QueryKind kind, Duration timeout, ReplyListener listener) {
        request(kind, null, timeout, listener);
    }

    /**
     * Asks every member (this node included) for its metrics or for its
     * checksums of {@code cache}, and returns at once. {@code listener} gets
     * each answer on the node's callback thread, then exactly one final call with member
     * 0 and null JSON when every live member has answered or {@code timeout}
     * (1 ms to 60 s, with the precision of {@code heartbeat_interval}) has
     * passed; after that it is released. If the node closes first, the final
     * call happens during {@link #close()}. The cache name only matters for
     * {@link QueryKind#CHECKSUMS}.
     *
     * @throws MccacheException EINVAL for a timeout out of range or a name
     *     holding a NUL; ECLOSED after close. The listener is not called then.
     */
    public void clusterRequest(QueryKind kind, String cache, Duration timeout, ReplyListener listener) {
        request(kind, Utf8.encode(cache, "cache"), timeout, listener);
    }

    private void request(QueryKind kind, byte[] cache, Duration timeout, ReplyListener listener) {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(listener, "listener");
        Native.clusterRequest(handle, kind.value(), cache, timeoutMillis(timeout), new ReplyBinding(listener));
    }

    /** Asks every member for {@code kind} of every cache and waits; see {@link #clusterCollect(QueryKind, String, Duration)}. */
    public String clusterCollect(QueryKind kind, Duration timeout) {
        Objects.requireNonNull(kind, "kind");
        return Utf8.decode(Native.clusterCollect(handle, kind.value(), null, timeoutMillis(timeout)));
    }

    /**
     * Asks every member (this node included) for its metrics or for its
     * checksums of {@code cache}, and waits up to {@code timeout} (1 ms to
     * 60 s): the answers as {@code {"replies":{"HEX-ID":ANSWER,...},"members":N}},
     * N being the members alive when asked. A member that did not answer in
     * time is simply missing from "replies": compare their count with N.
     *
     * @throws MccacheException EINVAL for a timeout out of range or a name
     *     holding a NUL; EBUSY from one of this node's own listeners (they
     *     must not wait on their node); ECLOSED after close
     */
    public String clusterCollect(QueryKind kind, String cache, Duration timeout) {
        Objects.requireNonNull(kind, "kind");
        byte[] name = Utf8.encode(cache, "cache");
        return Utf8.decode(Native.clusterCollect(handle, kind.value(), name, timeoutMillis(timeout)));
    }

    /** Whole milliseconds, rounded up; out of range saturates, and the library refuses it. */
    static int timeoutMillis(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) return 0;
        if (timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) >= 0) return Integer.MAX_VALUE;
        long ms = timeout.toMillis();
        if (timeout.minusMillis(ms).isZero()) return (int) ms;
        return (int) (ms + 1);
    }

    // ---- security ----

    /**
     * A new cluster key for {@code crypto_key} or {@link #setKeys}: 32 random
     * bytes from the OS, as base64 (44 characters).
     *
     * @throws MccacheException EIO if the OS has no randomness to give
     */
    public static String generateKey() {
        byte[] key = Native.generateKey();
        try {
            return new String(key, java.nio.charset.StandardCharsets.US_ASCII);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /**
     * Changes the running node's keys, for rotation without downtime
     * (docs/SECURITY.md): {@code sealKey} seals what the node sends and is
     * accepted on receive; {@code acceptKey} is only accepted. Null or ""
     * means none (no sealing is refused with {@code require_encryption}).
     * Rotate by giving every member the new key as {@code acceptKey}, then as
     * {@code sealKey} with the old one as {@code acceptKey}, then dropping the
     * old one. It takes effect before the call returns.
     *
     * @throws MccacheException EINVAL for a malformed key (the message says
     *     which); ECONFIG if two different keys share a key id (generate
     *     another); ECLOSED after close
     */
    public void setKeys(String sealKey, String acceptKey) {
        byte[] seal = sealKey == null || sealKey.isEmpty() ? null : Utf8.encode(sealKey, "sealKey");
        byte[] accept = acceptKey == null || acceptKey.isEmpty() ? null : Utf8.encode(acceptKey, "acceptKey");
        try {
            Native.setKeys(handle, seal, accept);
        } finally {
            if (seal != null) Arrays.fill(seal, (byte) 0);
            if (accept != null) Arrays.fill(accept, (byte) 0);
        }
    }

    /** Whether {@link #close()} has completed on some thread. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the node: delivers what its listeners still have queued, stops
     * its threads, releases its caches and listeners.
     * Idempotent; concurrent callers all return once the node is closed.
     *
     * @throws MccacheException EBUSY when called from one of this node's own
     *     listeners (it would wait for itself); the node stays open then
     */
    @Override
    public void close() {
        if (closed) return;
        // The C library serialises closers and answers ECLOSED to all but
        // one, which Native.close reports as false.
        Native.close(handle);
        closed = true;
        synchronized (listenerOwners) {
            listenerOwners.clear();
        }
    }

    long handle() {
        return handle;
    }

    void setChangeListener(Cache view, long cacheHandle, ChangeListener listener) {
        synchronized (listenerOwners) {
            Native.setChangeListener(cacheHandle,
                    listener == null ? null : new ChangeBinding(view, listener));
            if (listener == null) {
                listenerOwners.remove(cacheHandle);
            } else {
                listenerOwners.put(cacheHandle, view);
            }
        }
    }

    void releaseListenerOf(Cache view, long cacheHandle) {
        synchronized (listenerOwners) {
            if (listenerOwners.get(cacheHandle) != view) return;
            listenerOwners.remove(cacheHandle);
            if (!closed) {
                try {
                    Native.setChangeListener(cacheHandle, null);
                } catch (MccacheException e) {
                    if (e.code() != ErrorCode.ECLOSED.value()) throw e;
                }
            }
        }
    }

    @Override
    public String toString() {
        return closed ? "Node[closed]" : "Node[" + Long.toHexString(handle) + "]";
    }
}
