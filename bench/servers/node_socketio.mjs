// The benchmark contract on Node's socket.io 4.8 (the reference), written as a user would.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { Server } from "socket.io";

// With REDIS_URL (the cluster scenarios), servers are joined by @socket.io/redis-adapter.
let adapter;
if (process.env.REDIS_URL) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = createAdapter(pub, sub);
}

// BENCH_PARSER=msgpack: socket.io-msgpack-parser instead of the default parser.
const parser =
  process.env.BENCH_PARSER === "msgpack"
    ? { parser: (await import("socket.io-msgpack-parser")).default }
    : {};

const httpServer = createServer();
const io = new Server(httpServer, {
  cors: { origin: "*" },
  ...(adapter ? { adapter } : {}),
  ...parser,
});

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("fanout", (opts, ack) => {
    const payload = "x".repeat(opts.size);
    for (let seq = 0; seq < opts.count; seq++) io.to(opts.room).emit("tick", seq, payload);
    if (typeof ack === "function") ack();
  });
});

httpServer.listen(Number(process.env.PORT || 3000), "127.0.0.1", () => {
  // A worker of node_socketio_cluster.mjs: its primary says READY once all of them listen.
  if (!cluster.isWorker) console.log("READY");
});
