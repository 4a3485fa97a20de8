package io.libmccache;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Loads {@code libmccache_jni.so} once per class loader and checks that the C
 * library it links is one this binding was built for.
 *
 * <p>Lookup order: the system property {@value #PATH_PROPERTY} (an absolute
 * path to the library) if set and not empty, else
 * {@code System.loadLibrary("mccache_jni")}, which searches
 * {@code java.library.path}. {@code libmccache.so.0} itself is found by the
 * dynamic linker (the JNI library's RUNPATH, {@code LD_LIBRARY_PATH} or the
 * system's library directories).
 */
public final class NativeLoader {
    /** System property naming the absolute path of libmccache_jni.so. */
    public static final String PATH_PROPERTY = "mccache.native.path";

    /** Name given to System.loadLibrary. */
    public static final String LIBRARY_NAME = "mccache_jni";

    private static boolean loaded;

    private NativeLoader() {}

    /**
     * Loads the native library if this class loader has not yet, then checks
     * versions. Safe to call any number of times from any thread.
     *
     * @throws UnsatisfiedLinkError if the library cannot be loaded, or if the
     *     C library's version does not fit this binding
     */
    public static synchronized void load() {
        if (loaded) return;
        String path = System.getProperty(PATH_PROPERTY, "");
        if (!path.isEmpty()) {
            Path p = Paths.get(path);
            if (!p.isAbsolute() || !Files.isRegularFile(p)) {
                throw new UnsatisfiedLinkError(
                        PATH_PROPERTY + "=" + path + " is not an absolute path to a file");
            }
            System.load(p.toString());
        } else {
            System.loadLibrary(LIBRARY_NAME);
        }
        Version.check(Native.headerVersion(), Native.version());
        loaded = true;
    }

    /**
     * Marks the library as loaded by the application itself (with
     * {@code System.load} from the same class loader) and runs the version check.
     */
    public static synchronized void assumeLoaded() {
        // Set first: touching Native below runs its static initializer, which calls load().
        loaded = true;
        try {
            Version.check(Native.headerVersion(), Native.version());
        } catch (RuntimeException | Error e) {
            loaded = false;
            throw e;
        }
    }

    /** Whether {@link #load()} or {@link #assumeLoaded()} has succeeded. */
    public static synchronized boolean isLoaded() {
        return loaded;
    }
}
