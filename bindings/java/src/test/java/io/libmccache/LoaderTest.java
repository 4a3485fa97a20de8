package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Loading in fresh JVMs, since a JVM loads a native library only once. */
class LoaderTest {
    static String probe(String... jvmArgs) throws IOException, InterruptedException {
        return run(List.of(jvmArgs), List.of());
    }

    static String run(List<String> jvmArgs, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoaderProbe.class.getName());
        cmd.addAll(args);
        // stderr (the library's own log lines) goes to a file, so that stdout
        // holds only the probe's answer and any -Xcheck:jni report.
        Path err = Files.createTempFile("mccache-probe", ".stderr");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not exit");
            assertEquals(0, p.exitValue(), out + "\nstderr:\n" + Files.readString(err));
            return out;
        } finally {
            Files.deleteIfExists(err);
        }
    }

    static Path nativePath() {
        String path = System.getProperty(NativeLoader.PATH_PROPERTY, "");
        if (path.isEmpty()) {
            // This JVM found the library through java.library.path: look it up there.
            for (String dir : System.getProperty("java.library.path").split(java.io.File.pathSeparator)) {
                Path p = Paths.get(dir, System.mapLibraryName(NativeLoader.LIBRARY_NAME));
                if (p.toFile().isFile()) return p.toAbsolutePath();
            }
            throw new AssertionError("libmccache_jni is in neither mccache.native.path nor java.library.path");
        }
        return Paths.get(path);
    }

    @Test
    void loadsFromJavaLibraryPath() throws Exception {
        Path lib = nativePath();
        String out = probe("-Djava.library.path=" + lib.getParent());
        assertEquals("loaded " + Version.libraryString(), out);
    }

    @Test
    void theSystemPropertyOverridesJavaLibraryPath() throws Exception {
        Path lib = nativePath();
        String out = probe("-D" + NativeLoader.PATH_PROPERTY + "=" + lib, "-Djava.library.path=/nonexistent");
        assertEquals("loaded " + Version.libraryString(), out);
    }

    @Test
    void theJvmExitsCleanlyWithANodeLeftOpen() throws Exception {
        // The daemon-attached callback thread must neither hold up exit nor crash it.
        String out = run(List.of("-D" + NativeLoader.PATH_PROPERTY + "=" + nativePath()),
                List.of("exit-with-open-node"));
        assertTrue(out.startsWith("exiting with "), out);
        assertTrue(!out.contains("WARNING in native method"), out);
    }

    @Test
    void aBadPathPropertyFailsClearly() throws Exception {
        String out = probe("-D" + NativeLoader.PATH_PROPERTY + "=relative/libmccache_jni.so");
        assertTrue(out.startsWith("unsatisfied: ") && out.contains(NativeLoader.PATH_PROPERTY), out);
        out = probe("-Djava.library.path=/nonexistent");
        assertTrue(out.startsWith("unsatisfied: ") && out.contains("mccache_jni"), out);
    }
}
