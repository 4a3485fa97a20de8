package io.libmccache;

/** Run by LoaderTest in a fresh JVM: loads the library as configured and prints its version. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("exit-with-open-node")) {
            exitWithOpenNode();
            return;
        }
        try {
            NativeLoader.load();
            NativeLoader.load();
            System.out.println("loaded " + Version.libraryString());
        } catch (UnsatisfiedLinkError e) {
            System.out.println("unsatisfied: " + e.getMessage());
        }
    }

    /** Returns from main with a node open and its callback thread busy delivering events. */
    static void exitWithOpenNode() {
        Node node = Local.open();
        Cache cache = node.cache("leaked");
        java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong();
        cache.setChangeListener(e -> seen.incrementAndGet());
        for (int i = 0; seen.get() < 1000; i++) cache.putString("k" + (i % 100), "v" + i);
        for (int i = 0; i < 10_000; i++) cache.putString("k" + (i % 100), "v" + i);
        System.out.println("exiting with " + seen.get() + " events seen");
    }
}
