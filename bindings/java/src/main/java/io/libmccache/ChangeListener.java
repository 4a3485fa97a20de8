package io.libmccache;

/**
 * Receives a cache's changes on the node's loop thread. It must return
 * quickly and never block: every node's events and housekeeping wait for it.
 * See {@link Cache#setChangeListener(ChangeListener)}.
 */
@FunctionalInterface
public interface ChangeListener {
    void onChange(Event event);
}
