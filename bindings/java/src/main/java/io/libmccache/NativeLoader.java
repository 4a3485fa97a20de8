package io.libmccache;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads {@code libmccache_jni.so} once per class loader and checks that the C
 * library it links is one this binding was built for.
 *
 * <p>Lookup order:
 * <ol>
 *   <li>the system property {@value #PATH_PROPERTY} (an absolute path to the
 *       library), if set and not empty;
 *   <li>the jar: a jar built with the natives (CMake's {@code java-jar}
 *       target, installed as {@code share/java/mccache-VERSION.jar}) carries
 *       {@code libmccache_jni.so} and {@code libmccache.so.0} under
 *       {@value #RESOURCE_DIR}{@code PLATFORM/} (e.g. {@code linux-x86_64}).
 *       Both are copied to a temporary directory, deleted when the JVM exits,
 *       and loaded from there: the JNI library's RUNPATH ({@code $ORIGIN})
 *       finds {@code libmccache.so.0} beside it. Set {@value #JAR_PROPERTY}
 *       to {@code false} to skip this step;
 *   <li>{@code System.loadLibrary("mccache_jni")}, which searches
 *       {@code java.library.path}; {@code libmccache.so.0} is then found by
 *       the dynamic linker (the JNI library's RUNPATH, {@code LD_LIBRARY_PATH}
 *       or the system's library directories).
 * </ol>
 * The natives in the jar link the system's libuv, cJSON, inih, xxhash, ISA-L
 * and OpenSSL or mbedTLS (Debian 12's packages).
 */
public final class NativeLoader {
    /** System property naming the absolute path of libmccache_jni.so. */
    public static final String PATH_PROPERTY = "mccache.native.path";

    /** System property: "false" skips the natives carried in the jar. */
    public static final String JAR_PROPERTY = "mccache.native.jar";

    /** Name given to System.loadLibrary. */
    public static final String LIBRARY_NAME = "mccache_jni";

    /** Where a jar carries its natives, followed by the platform and a slash. */
    public static final String RESOURCE_DIR = "/io/libmccache/native/";

    private static boolean loaded;
    private static String source = "";

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
            source = p.toString();
        } else {
            String fromJar = null;
            UnsatisfiedLinkError jarError = null;
            if (!"false".equals(System.getProperty(JAR_PROPERTY, ""))) {
                try {
                    fromJar = loadFromJar();
                } catch (UnsatisfiedLinkError e) {
                    jarError = e;
                }
            }
            if (fromJar != null) {
                source = fromJar;
            } else {
                try {
                    System.loadLibrary(LIBRARY_NAME);
                    source = "java.library.path";
                } catch (UnsatisfiedLinkError e) {
                    if (jarError != null) e.addSuppressed(jarError);
                    throw e;
                }
            }
        }
        Version.check(Native.headerVersion(), Native.version());
        loaded = true;
    }

    /** The platform directory this JVM looks for in the jar, e.g. linux-x86_64. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86-64")) arch = "x86_64";
        if (arch.equals("arm64")) arch = "aarch64";
        return (os.startsWith("linux") ? "linux" : os.replace(' ', '_')) + "-" + arch;
    }

    /**
     * Copies the jar's natives for this platform to a temporary directory and
     * loads them; null when the jar carries none for this platform.
     */
    private static String loadFromJar() {
        String dir = RESOURCE_DIR + platform() + "/";
        if (NativeLoader.class.getResource(dir + "libmccache_jni.so") == null) return null;
        try {
            Path tmp = Files.createTempDirectory("mccache-native");
            tmp.toFile().deleteOnExit();
            Path core = extract(dir + "libmccache.so.0", tmp.resolve("libmccache.so.0"));
            Path jni = extract(dir + "libmccache_jni.so", tmp.resolve("libmccache_jni.so"));
            // The core library first: the JNI library's NEEDED entry then
            // resolves to the copy already loaded, whatever its RUNPATH says.
            System.load(core.toString());
            System.load(jni.toString());
            return "jar:" + dir;
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError(
                    "cannot copy the natives out of the jar (" + dir + "): " + e);
            err.initCause(e);
            throw err;
        }
    }

    private static Path extract(String resource, Path to) throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("the jar has no " + resource);
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        to.toFile().deleteOnExit();
        return to;
    }

    /**
     * Where the library was loaded from: its path, {@code jar:/io/libmccache/native/PLATFORM/},
     * {@code java.library.path}, or "" when loaded by the application
     * ({@link #assumeLoaded()}) or not yet.
     */
    public static synchronized String source() {
        return source;
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
