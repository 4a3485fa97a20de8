package io.libmccache;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/** Strings cross JNI as UTF-8 bytes: the glue never sees Java's modified UTF-8. */
final class Utf8 {
    private Utf8() {}

    static byte[] encode(String s, String what) {
        Objects.requireNonNull(s, what);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String decode(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
