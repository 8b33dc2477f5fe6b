// A Node socket.io 4.8 server on @socket.io/cluster-engine's RedisEngine, with the handlers
// of tests/adapters/cluster_engine_app.py and the Redis streams adapter on the same keys: the
// Node half of a mixed Node + tether cluster without stickiness. `--engine` is the path of a
// build of @socket.io/cluster-engine (its dist/index.js): the package is not on npm.
// Prints {"port": N} once listening.

import { createRequire } from "node:module";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string" },
    key: { type: "string" },
    port: { type: "string", default: "0" },
    engine: { type: "string" },
  },
});
const { RedisEngine } = createRequire(import.meta.url)(opts.engine);

const pub = createClient({ url: opts.redis });
const sub = pub.duplicate();
const streams = pub.duplicate();
for (const c of [pub, sub, streams]) c.on("error", () => {});
await Promise.all([pub.connect(), sub.connect(), streams.connect()]);

const httpServer = createServer((req, res) => res.writeHead(404).end());
const engine = new RedisEngine(pub, sub, { channelPrefix: `${opts.key}-eio` });
engine.attach(httpServer, { path: "/socket.io/" });
const io = new Server({
  adapter: createAdapter(streams, {
    streamName: opts.key,
    channelPrefix: opts.key,
    sessionKeyPrefix: `${opts.key}:s:`,
  }),
  connectionStateRecovery: { maxDisconnectionDuration: 30000 },
});
io.bind(engine);

io.on("connection", (socket) => {
  socket.on("whoami", (cb) => cb(process.pid));
  socket.on("echo", (...args) => args.pop()(args));
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb("joined");
  });
  socket.on("shout", (room, text, cb) => {
    (room ? io.to(room) : io).emit("shouted", text);
    cb("sent");
  });
});

httpServer.listen(Number(opts.port), "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");
});
process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});
