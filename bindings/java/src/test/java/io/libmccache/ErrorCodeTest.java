package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ErrorCodeTest {
    @Test
    void mirrorMatchesErrNameForEveryCode() {
        Native.ensureLoaded();
        for (int code = 0; code >= -16; code--) {
            ErrorCode e = ErrorCode.of(code);
            assertEquals(code, e.value());
            assertEquals(Native.errName(code), e.cName(), "code " + code);
            assertFalse(Native.strerror(code).isEmpty());
        }
        assertEquals(17, ErrorCode.values().length - 1, "one constant per C code, plus UNKNOWN");
    }

    @Test
    void theLibraryHasNoCodeBeyondTheMirror() {
        // Fails when mccache.h appends a code: add it to ErrorCode.
        assertEquals("MCCACHE_EUNKNOWN", Native.errName(-17));
        assertEquals("MCCACHE_EUNKNOWN", Native.errName(1));
        assertSame(ErrorCode.UNKNOWN, ErrorCode.of(-17));
        assertSame(ErrorCode.UNKNOWN, ErrorCode.of(5));
        assertEquals(Native.errName(-17), ErrorCode.UNKNOWN.cName());
    }

    @Test
    void exceptionCarriesCodeAndMessage() {
        MccacheException e = new MccacheException(ErrorCode.ENOTFOUND, "gone");
        assertEquals(-3, e.code());
        assertSame(ErrorCode.ENOTFOUND, e.errorCode());
        assertEquals("gone", e.getMessage());
        assertSame(ErrorCode.UNKNOWN, new MccacheException(-99, "x").errorCode());
    }
}
