package io.libmccache;

/** What a cluster-wide request asks every member for (mccache_query_kind). */
public enum QueryKind {
    /** Each member's {@link Node#metricsJson()}. */
    METRICS(1),
    /**
     * Each member's checksums:
     * {@code {"node":HEX,"caches":{"NAME":{"checksum":HEX,"entries":N}}}}.
     */
    CHECKSUMS(2);

    private final int value;

    QueryKind(int value) {
        this.value = value;
    }

    /** The C value. */
    public int value() {
        return value;
    }
}
