package io.libmccache;

/** Where a change came from (mccache_event_origin). */
public enum Origin {
    /** A call on this node. */
    LOCAL,
    /** A write replicated from another member. */
    REMOTE;

    static Origin of(int value) {
        return value == 1 ? REMOTE : LOCAL;
    }
}
