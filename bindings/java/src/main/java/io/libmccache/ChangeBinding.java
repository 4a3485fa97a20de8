package io.libmccache;

/**
 * What the JNI glue holds (as a GlobalRef, in the C callback's opaque) for
 * one change listener. The glue calls {@link #dispatch} on the node's
 * callback thread and deletes the GlobalRef in opaque_free.
 */
final class ChangeBinding {
    private final Cache cache;
    private final ChangeListener listener;

    ChangeBinding(Cache cache, ChangeListener listener) {
        this.cache = cache;
        this.listener = listener;
    }

    /** Called by the glue; never lets an exception reach native code. */
    void dispatch(int type, int origin, byte[] key, byte[] value, long versionHlc,
            long versionNode, long lastLookupMs, long timeMs) {
        try {
            listener.onChange(new Event(cache, EventType.of(type), Origin.of(origin), key, value,
                    versionHlc, versionNode, lastLookupMs, timeMs));
        } catch (Throwable t) {
            Callbacks.report(t);
        }
    }
}
