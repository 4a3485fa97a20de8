package io.libmccache;

/** Versions of the binding and of the C library it runs on. */
public final class Version {
    /**
     * The C library version this binding was written for, as
     * MAJOR*10000 + MINOR*100 + PATCH (MCCACHE_VERSION_NUMBER of its mccache.h).
     */
    public static final int BINDING_C_VERSION = 200;

    private Version() {}

    /** mccache_version() of the loaded C library. */
    public static int library() {
        return Native.version();
    }

    /** mccache_version_string() of the loaded C library, e.g. "0.1.0". */
    public static String libraryString() {
        return Native.versionString();
    }

    static int major(int version) {
        return version / 10000;
    }

    /**
     * The ABI is stable within a major version (the soname carries it), so the
     * library must have this binding's major and be at least as new. The glue
     * must have been compiled against the same header as this Java code.
     */
    static void check(int header, int runtime) {
        if (header != BINDING_C_VERSION) {
            throw new UnsatisfiedLinkError("libmccache_jni was compiled against mccache.h "
                    + header + " but these classes expect " + BINDING_C_VERSION
                    + ": rebuild the JNI library and the jar from the same tree");
        }
        if (major(runtime) != major(BINDING_C_VERSION) || runtime < BINDING_C_VERSION) {
            throw new UnsatisfiedLinkError("libmccache version " + runtime
                    + " does not fit this binding (needs major " + major(BINDING_C_VERSION)
                    + ", at least " + BINDING_C_VERSION + ")");
        }
    }
}
