package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VersionTest {
    @Test
    void libraryMatchesTheHeaderTheBindingWasBuiltFor() {
        NativeLoader.load();
        assertTrue(NativeLoader.isLoaded());
        assertEquals(Version.BINDING_C_VERSION, Native.headerVersion());
        assertEquals(Version.BINDING_C_VERSION, Version.library());
        int v = Version.library();
        assertEquals((v / 10000) + "." + (v / 100 % 100) + "." + (v % 100), Version.libraryString());
    }

    @Test
    void loadIsIdempotent() {
        NativeLoader.load();
        NativeLoader.load();
        NativeLoader.assumeLoaded();
        assertTrue(NativeLoader.isLoaded());
    }

    @Test
    void checkRejectsAnotherMajorAnOlderLibraryOrAnotherHeader() {
        int b = Version.BINDING_C_VERSION;
        Version.check(b, b);
        Version.check(b, b + 1); // a newer patch or minor of the same major is fine
        assertThrows(UnsatisfiedLinkError.class, () -> Version.check(b, b + 10000));
        assertThrows(UnsatisfiedLinkError.class, () -> Version.check(b + 1, b + 1));
        if (b % 10000 > 0) assertThrows(UnsatisfiedLinkError.class, () -> Version.check(b, b - 1));
    }
}
