package io.libmccache;

/**
 * Receives a node's membership changes (members joining, leaving, going
 * down, recovering, restarting) on the node's loop thread. It must return
 * quickly and never block. See {@link Node#setMemberListener(MemberListener)}.
 */
@FunctionalInterface
public interface MemberListener {
    void onMember(MemberEvent event);
}
