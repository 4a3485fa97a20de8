package io.libmccache;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One libmccache node: a set of named caches and the loop thread that runs
 * their housekeeping and callbacks.
 *
 * <p>All methods are thread-safe. {@link #close()} is idempotent and may race
 * with calls on other threads: calls already inside the C library finish
 * first, later ones (on this node or any of its caches) throw
 * {@link MccacheException} with {@link ErrorCode#ECLOSED}. The C handle
 * stays a valid token after close, so no Java-side lock or in-flight counter
 * is needed.
 *
 * <p>There is no finalizer or Cleaner: close nodes with try-with-resources.
 * A node whose listeners are registered is reachable from its loop thread in
 * any case.
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
     * log file; null goes back to the file (or stderr). The listener runs on
     * whichever thread logs (the loop thread or a caller's): it must be
     * thread-safe and must not block. Exceptions it throws go to the thread's
     * uncaught-exception handler.
     */
    public void setLogListener(LogListener listener) {
        Native.setLogListener(handle, listener == null ? null : new LogBinding(listener));
    }

    /** Whether {@link #close()} has completed on some thread. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the node: stops its loop, releases its caches and listeners.
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
