// A program outside the libmccache source tree that uses the Java binding
// from the installed jar, as a new user's would:
//
//   javac -cp PREFIX/share/java/mccache.jar -d out Hello.java
//   java -cp PREFIX/share/java/mccache.jar:out Hello
//
// No -Djava.library.path and no LD_LIBRARY_PATH: the jar carries
// libmccache_jni.so and libmccache.so.0 for linux-x86_64 and loads them
// (io.libmccache.NativeLoader). Built and run by the test Install::consume.
import io.libmccache.Cache;
import io.libmccache.Config;
import io.libmccache.NativeLoader;
import io.libmccache.Node;
import java.time.Duration;

public final class Hello {
    public static void main(String[] args) {
        // transport=none: a local cache; the example talks to no network.
        try (Config config = new Config().set("transport", "none");
             Node node = Node.open(config)) {
            Cache users = node.cache("users");
            users.putString("alice", "admin", Duration.ofMinutes(5));
            System.out.println("java: users[alice] = " + users.getString("alice") + " (" + users.len()
                    + " entry), natives from " + NativeLoader.source());
        }
    }
}
