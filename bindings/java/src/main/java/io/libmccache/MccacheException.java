package io.libmccache;

import java.nio.charset.StandardCharsets;

/**
 * A failure reported by libmccache: the C error code and the message that
 * mccache_last_error() gave right after the failing call (which argument,
 * which key, which setting).
 */
public class MccacheException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int code;

    public MccacheException(int code, String message) {
        super(message);
        this.code = code;
    }

    public MccacheException(ErrorCode code, String message) {
        this(code.value(), message);
    }

    /** Called by the JNI glue; the message is the C library's UTF-8 text. */
    MccacheException(int code, byte[] utf8Message) {
        this(code, ErrorCode.of(code).cName() + ": "
                + new String(utf8Message, StandardCharsets.UTF_8));
    }

    /** The C error code (a negative {@code MCCACHE_E*} value). */
    public int code() {
        return code;
    }

    /** The code as an enum constant; {@link ErrorCode#UNKNOWN} if this binding predates it. */
    public ErrorCode errorCode() {
        return ErrorCode.of(code);
    }
}
