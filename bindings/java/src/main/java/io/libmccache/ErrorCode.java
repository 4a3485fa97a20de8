package io.libmccache;

/**
 * The error codes of {@code mccache.h}, by value. Codes are stable in the C
 * library and never renumbered; {@link #UNKNOWN} stands for a code appended by
 * a newer library than this binding knows.
 */
public enum ErrorCode {
    OK(0),
    EINVAL(-1),
    ENOMEM(-2),
    ENOTFOUND(-3),
    EEXISTS(-4),
    EBUFS(-5),
    ETOOBIG(-6),
    ECLOSED(-7),
    ETIMEDOUT(-8),
    ECANCELED(-9),
    EBUSY(-10),
    ECONFIG(-11),
    EIO(-12),
    ESTALE(-13),
    EUSER(-14),
    ENOTSUP(-15),
    EINTERNAL(-16),
    /** A code this binding does not know (its value is in {@link MccacheException#code()}). */
    UNKNOWN(Integer.MIN_VALUE);

    private static final ErrorCode[] BY_NEGATED_VALUE;

    static {
        ErrorCode[] all = values();
        BY_NEGATED_VALUE = new ErrorCode[all.length - 1];
        for (ErrorCode e : all) {
            if (e != UNKNOWN) BY_NEGATED_VALUE[-e.value] = e;
        }
    }

    private final int value;

    ErrorCode(int value) {
        this.value = value;
    }

    /** The C value, e.g. -3 for {@link #ENOTFOUND}. */
    public int value() {
        return value;
    }

    /** The C name, e.g. {@code "MCCACHE_ENOTFOUND"}, as mccache_err_name() spells it. */
    public String cName() {
        return this == UNKNOWN ? "MCCACHE_EUNKNOWN" : "MCCACHE_" + name();
    }

    /** The constant for a C value; {@link #UNKNOWN} for a value this binding does not know. */
    public static ErrorCode of(int value) {
        if (value > 0 || -value >= BY_NEGATED_VALUE.length) return UNKNOWN;
        return BY_NEGATED_VALUE[-value];
    }
}
