package io.libmccache;

/** What happened to a member of the cluster (mccache_member_event). */
public enum MemberEventType {
    /** First heard from. */
    JOINED(1),
    /** Said goodbye (closed cleanly). */
    LEFT(2),
    /** Silent for {@code member_timeout}. */
    DOWN(3),
    /** Heard from again after being down or gone. */
    RECOVERED(4),
    /** Came back with a new incarnation (a restart). */
    RESTARTED(5),
    /** A type added by a newer library than this binding. */
    UNKNOWN(0);

    private final int value;

    MemberEventType(int value) {
        this.value = value;
    }

    /** The C value. */
    public int value() {
        return value;
    }

    static MemberEventType of(int value) {
        for (MemberEventType t : values()) {
            if (t.value == value && t != UNKNOWN) return t;
        }
        return UNKNOWN;
    }
}
