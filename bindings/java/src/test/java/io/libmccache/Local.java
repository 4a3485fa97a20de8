package io.libmccache;

/**
 * Settings for test nodes: transport "none" keeps each node a purely local
 * cache, so tests neither see nor disturb other nodes on this machine.
 */
final class Local {
    private Local() {}

    static Config config() {
        return new Config().set("transport", "none");
    }

    static Node open() {
        try (Config c = config()) {
            return Node.open(c);
        }
    }
}
