// Reference Socket.IO server (npm `socket.io` 4.8): the app of tests/interop/sio_app.py written
// for Node, which the driver sio_client.mjs is calibrated against. Same contract:
// 127.0.0.1:$PORT (default 3000), path /socket.io/, CORS *, ping 1 s / 1 s, connection state
// recovery (30 s, middlewares skipped), namespaces "/", "/admin" (auth.token must be "secret"),
// /^\/dyn-\d+$/ (auth.deny refused), the same events; prints READY when listening.
//
//   PORT=3000 node tests/interop/sio_node_server.mjs [msgpack]
//   TETHER_SIO_SERVER_CMD="node tests/interop/sio_node_server.mjs" \
//       pytest -m interop tests/interop/test_sio_clients.py -k native

import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const httpServer = createServer();
const io = new Server(httpServer, {
  cors: { origin: "*" },
  pingInterval: 1000,
  pingTimeout: 1000,
  connectionStateRecovery: { maxDisconnectionDuration: 30_000, skipMiddlewares: true },
  // `node sio_node_server.mjs msgpack`: socket.io-msgpack-parser instead of the default.
  ...(process.argv[2] === "msgpack" ? { parser: msgpackParser } : {}),
});

const reasons = new Map();
const outcomes = new Map();

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function setup(nsp) {
  nsp.on("connection", (socket) => {
    const { run, name } = socket.handshake.auth;
    if (typeof run === "string") socket.join(`run:${run}`);
    if (!socket.recovered && typeof name === "string") socket.data.name = name;
    const nspOf = () => socket.nsp;

    socket.on("disconnect", (reason) => {
      reasons.set(socket.id, reason);
      if (reasons.size > 1000) reasons.delete(reasons.keys().next().value);
    });
    socket.on("whoami", (ack) =>
      ack({
        id: socket.id,
        nsp: socket.nsp.name,
        auth: socket.handshake.auth,
        query: socket.handshake.query,
        header: socket.handshake.headers["x-tether-test"] ?? null,
        transport: socket.conn.transport.name,
        recovered: socket.recovered,
        rooms: [...socket.rooms].sort(),
        data: socket.data,
      }),
    );
    socket.on("echo", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
    socket.on("echo_async", async (...args) => {
      const ack = args.pop();
      await sleep(1);
      ack(...args);
    });
    socket.on("echo_none", (...args) => args.pop()());
    socket.on("echo_event", (event, ...args) => socket.emit(event, ...args));
    socket.on("burst", (n) => {
      for (let i = 0; i < n; i++) socket.emit("seq", i);
    });
    socket.on("count", (n, ack) => {
      const expected = socket.data.count ?? 0;
      if (n !== expected) return ack(-1);
      socket.data.count = n + 1;
      ack(n + 1);
    });
    socket.on("join", (rooms, ack) => {
      socket.join(rooms);
      ack([...socket.rooms].sort());
    });
    socket.on("leave", (room, ack) => {
      socket.leave(room);
      ack([...socket.rooms].sort());
    });
    socket.on("bcast", (spec, ack) => {
      const ns = spec.nsp ? io.of(spec.nsp) : nspOf();
      let target = spec.from === "socket" ? socket : ns;
      if (spec.broadcast) target = socket.broadcast;
      if (spec.to?.length) target = target.to(spec.to);
      if (spec.except?.length) target = target.except(spec.except);
      if (spec.volatile) target = target.volatile;
      target.emit(spec.event, ...(spec.args ?? []));
      ack(true);
    });
    socket.on("fetch", async (room, ack) => {
      ack((await nspOf().in(room).fetchSockets()).map((s) => s.id).sort());
    });
    socket.on("sockets_join", (room, name, ack) => {
      nspOf().in(room).socketsJoin(name);
      ack(true);
    });
    socket.on("sockets_leave", (room, name, ack) => {
      nspOf().in(room).socketsLeave(name);
      ack(true);
    });
    socket.on("ask", async (timeout, ...args) => {
      const ack = args.pop();
      const sid = socket.id;
      outcomes.set(sid, "pending");
      // Node drops pending acknowledgements on disconnect; tether's emit_with_ack raises
      // DisconnectedError: this app reports that outcome on Node the same way.
      const gone = () => outcomes.get(sid) === "pending" && outcomes.set(sid, "disconnected");
      socket.once("disconnect", gone);
      socket.timeout(timeout * 1000).emit("question", ...args, (err, ...answer) => {
        socket.off("disconnect", gone);
        if (outcomes.get(sid) === "pending") outcomes.set(sid, err ? "timeout" : "answered");
        if (err) return ack({ error: "timeout" });
        if (answer.length === 0) return ack({ kind: "none", answer: null });
        if (answer.length === 1) return ack({ kind: "one", answer: answer[0] });
        ack({ kind: "many", answer });
      });
    });
    socket.on("ask_callback", (...args) => {
      socket.emit("question", ...args, (...answer) => socket.emit("answered", ...answer));
    });
    socket.on("poll_room", (room, timeout, ...args) => {
      const ack = args.pop();
      nspOf()
        .to(room)
        .timeout(timeout * 1000)
        .emit("poll", ...args, (err, responses) => ack({ responses, timeout: Boolean(err) }));
    });
    socket.on("volatile", async (delay, ack) => {
      await sleep(delay * 1000);
      nspOf().to(socket.id).volatile.emit("v", "volatile");
      ack(true);
    });
    socket.on("kick", (close, ack) => {
      ack(true);
      setTimeout(() => socket.disconnect(Boolean(close)), 50);
    });
    socket.on("kick_room", (room, close, ack) => {
      nspOf().in(room).disconnectSockets(Boolean(close));
      ack(true);
    });
    const cut = () => {
      // A network cut: destroy the TCP connection under the transport.
      const transport = socket.conn.transport;
      if (transport.name === "websocket") transport.socket._socket.destroy();
      else socket.conn.onClose("transport close");
    };
    socket.on("drop", (ack) => {
      ack(true);
      setTimeout(cut, 50);
    });
    socket.on("drop_and_broadcast", (spec) => {
      setImmediate(() => {
        const sid = socket.id;
        const ns = nspOf();
        cut();
        // The server notices a destroyed TCP connection on its next turn: broadcast after it.
        setTimeout(() => {
          const room = spec.direct ? sid : spec.room;
          for (let n = 1; n <= spec.count; n++) ns.to(room).emit(spec.event, { room, n });
        }, 20);
      });
    });
    socket.on("reason_of", (sid, ack) => ack(reasons.get(sid) ?? null));
    socket.on("outcome_of", (sid, ack) => ack(outcomes.get(sid) ?? null));
  });
}

setup(io.of("/"));
const admin = io.of("/admin");
admin.use((socket, next) => next());
admin.use((socket, next) => {
  const token = socket.handshake.auth.token;
  if (token === "secret") return next();
  const err = new Error("not authorized");
  err.data = { code: 401, token: token ?? null };
  next(err);
});
setup(admin);
const dynamic = io.of(/^\/dyn-\d+$/);
dynamic.use(async (socket, next) => {
  await sleep(1);
  if (!socket.handshake.auth.deny) return next();
  const err = new Error("denied");
  err.data = { nsp: socket.nsp.name };
  next(err);
});
setup(dynamic);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    setTimeout(() => process.exit(0), 300).unref();
  });
}

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  process.stdout.write("READY\n");
});
