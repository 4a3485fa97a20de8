package io.libmccache;

/** What the JNI glue holds as a GlobalRef for one cluster request (see {@link ChangeBinding}). */
final class ReplyBinding {
    private final ReplyListener listener;

    ReplyBinding(ReplyListener listener) {
        this.listener = listener;
    }

    /** Called by the glue; never lets an exception reach native code. */
    void dispatch(long memberId, byte[] json) {
        try {
            listener.onReply(memberId, Utf8.decode(json));
        } catch (Throwable t) {
            Callbacks.report(t);
        }
    }
}
