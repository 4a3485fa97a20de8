package io.libmccache;

/** Where a change came from (mccache_event_origin). */
public enum Origin {
    /** A call on this node. */
    LOCAL,
    /** A write replicated from another member. */
    REMOTE,
    /** Anti-entropy found this member incoherent and repaired it. */
    REPAIR;

    static Origin of(int value) {
        switch (value) {
            case 1:
                return REMOTE;
            case 2:
                return REPAIR;
            default:
                return LOCAL;
        }
    }
}
