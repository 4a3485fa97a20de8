package io.libmccache;

/** What happened to an entry (mccache_event_type). */
public enum EventType {
    INSERT(1),
    UPDATE(2),
    /** Deleted, or removed by a clear. */
    DELETE(3),
    /** Evicted to respect {@code cache_max} or {@code cache_size}. */
    EVICT(4),
    EXPIRE(5),
    /** A type added by a newer library than this binding. */
    UNKNOWN(0);

    private final int value;

    EventType(int value) {
        this.value = value;
    }

    /** The C value. */
    public int value() {
        return value;
    }

    static EventType of(int value) {
        for (EventType t : values()) {
            if (t.value == value && t != UNKNOWN) return t;
        }
        return UNKNOWN;
    }
}
