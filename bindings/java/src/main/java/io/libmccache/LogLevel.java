package io.libmccache;

/** Log levels (mccache_log_level), most severe first. */
public enum LogLevel {
    ERROR,
    WARN,
    INFO,
    DEBUG;

    static LogLevel of(int value) {
        LogLevel[] all = values();
        return value >= 0 && value < all.length ? all[value] : DEBUG;
    }
}
