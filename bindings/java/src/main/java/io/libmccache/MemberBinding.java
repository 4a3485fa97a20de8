package io.libmccache;

/** What the JNI glue holds as a GlobalRef for a member listener (see {@link ChangeBinding}). */
final class MemberBinding {
    private final Node node;
    private final MemberListener listener;

    MemberBinding(Node node, MemberListener listener) {
        this.node = node;
        this.listener = listener;
    }

    /** Called by the glue; never lets an exception reach native code. */
    void dispatch(int event, long nodeId, long incarnation, byte[] address, long lastSeenMs) {
        try {
            listener.onMember(new MemberEvent(node, MemberEventType.of(event), nodeId, incarnation,
                    Utf8.decode(address), lastSeenMs));
        } catch (Throwable t) {
            Callbacks.report(t);
        }
    }
}
