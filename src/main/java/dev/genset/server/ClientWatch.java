package dev.genset.server;

import io.helidon.http.HeaderValues;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.http1.Http1ConnectionListener;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Notices that the client of a non-streamed reply closed its connection while the reply is
 * generated (a stream notices at its next write). An HTTP/1 connection is read only between
 * requests, so meanwhile a virtual thread waits on its reader: the end of input means the client
 * is gone. A wait cannot be called off without closing the socket, so a reply sent while it still
 * waits says {@code Connection: close} and the connection closes after it ({@link #mustClose}).
 * A request on another protocol, or whose client already sent more, is not watched.
 */
final class ClientWatch {
    private static final ThreadLocal<ConnectionContext> CONNECTION = new ThreadLocal<>();

    /** Registered with the HTTP/1 protocol: each request's prologue is read on the thread that then routes it. */
    static final Http1ConnectionListener LISTENER = new Http1ConnectionListener() {
        @Override
        public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
            CONNECTION.set(ctx);
        }
    };

    private enum State { IDLE, WATCHING, GONE, ALIVE, ABANDONED }

    private final ConnectionContext ctx; // null: not watchable
    private final ServerResponse res;
    private final AtomicReference<State> state = new AtomicReference<>(State.IDLE);

    private ClientWatch(ConnectionContext ctx, ServerResponse res) {
        this.ctx = ctx;
        this.res = res;
    }

    static ClientWatch of(ServerRequest req, ServerResponse res) {
        ConnectionContext ctx = CONNECTION.get();
        boolean same = ctx != null && ctx.childSocketId().equals(req.socketId()) && ctx.socketId().equals(req.serverSocketId());
        return new ClientWatch(same ? ctx : null, res);
    }

    /** Runs {@code onGone} (on another thread) if the client closes the connection before the reply is sent. */
    void start(Runnable onGone) {
        if (ctx == null || ctx.dataReader().available() > 0 || !state.compareAndSet(State.IDLE, State.WATCHING)) return;
        res.beforeSend(() -> {
            if (state.compareAndSet(State.WATCHING, State.ABANDONED)) res.header(HeaderValues.CONNECTION_CLOSE);
        });
        Thread.ofVirtual().name("genset-client-watch").start(() -> {
            boolean ended;
            try {
                ctx.dataReader().pullData(); // bytes that come (a pipelined request) stay in the reader for the server
                ended = false;
            } catch (RuntimeException e) { // end of input or a reset
                ended = true;
            }
            if (state.compareAndSet(State.WATCHING, ended ? State.GONE : State.ALIVE) && ended) onGone.run();
        });
    }

    /** Whether the client closed the connection while its reply was generated. */
    boolean gone() {
        return state.get() == State.GONE;
    }

    /** Whether the reply went out while the connection was still being read: the server must close it. */
    boolean mustClose() {
        state.compareAndSet(State.WATCHING, State.ABANDONED); // a reply never sent ends the watch too
        return state.get() == State.ABANDONED;
    }
}
