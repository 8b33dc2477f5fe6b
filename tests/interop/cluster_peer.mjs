// The Node side of the cluster tests, driven by pytest through JSON lines on stdin/stdout:
// a socket.io 4.8 server with @socket.io/redis-adapter 8 on the same Redis as the tether
// servers, official socket.io-client clients (to any server of the cluster), and an
// @socket.io/redis-emitter. Each command line {id, cmd, ...} gets one answer line
// {id, ok, result} or {id, ok: false, error}. Binary travels as {"$bin": "<hex>"}.

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string" },
    key: { type: "string", default: "socket.io" },
    port: { type: "string", default: "0" },
    "requests-timeout": { type: "string", default: "2000" },
    adapter: { type: "string", default: "redis" },
  },
});

function toWire(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer ? value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) : value).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    if (value instanceof Date) return { $date: value.toISOString() };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object") {
    if (typeof value.$bin === "string") return Buffer.from(value.$bin, "hex");
    if (typeof value.$date === "string") return new Date(value.$date);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

// Without --redis: a plain socket.io server (the peer is then only a client driver).
const pub = opts.redis ? createClient({ url: opts.redis }) : null;
const sub = pub?.duplicate();
const emitterClient = pub?.duplicate();
if (pub) {
  for (const c of [pub, sub, emitterClient]) c.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);
}

const httpServer = createServer();
const streams = opts.adapter === "streams";
const io = new Server(httpServer, !pub ? {} : {
  adapter: streams
    ? createStreamsAdapter(pub, { streamName: opts.key, channelPrefix: opts.key, sessionKeyPrefix: `${opts.key}:session:` })
    : opts.adapter === "sharded"
    ? createShardedAdapter(pub, sub, { channelPrefix: opts.key })
    : createAdapter(pub, sub, {
        key: opts.key,
        requestsTimeout: Number(opts["requests-timeout"]),
      }),
  ...(streams ? { connectionStateRecovery: { maxDisconnectionDuration: 30000 } } : {}),
});
const emitter = pub ? new Emitter(emitterClient, { key: opts.key }) : null;
const serverSideEvents = [];

io.on("connection", (socket) => {
  socket.data = { name: socket.handshake.auth.name ?? null, server: "node" };
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb?.("joined");
  });
  socket.on("leave", (room, cb) => {
    socket.leave(room);
    cb?.("left");
  });
  socket.on("broadcast", (room, event, ...rest) => {
    const cb = typeof rest[rest.length - 1] === "function" ? rest.pop() : null;
    io.to(room).emit(event, ...fromWire(rest));
    cb?.("sent");
  });
});
io.on("ping-servers", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  serverSideEvents.push(toWire(args));
  cb?.(`node:${args.join(",")}`);
});
io.on("note", (...args) => serverSideEvents.push(toWire(args)));

await new Promise((resolve) => httpServer.listen(Number(opts.port), "127.0.0.1", resolve));

const clients = new Map();

function operator(msg) {
  let op = io.of(msg.nsp ?? "/");
  if (msg.rooms?.length) op = op.to(msg.rooms);
  if (msg.except?.length) op = op.except(msg.except);
  return op;
}

const commands = {
  async "client.connect"({ name, url, transports, auth, nsp, reconnectionDelay }) {
    const socket = connect(url + (nsp ?? ""), {
      transports: transports ?? ["polling", "websocket"],
      auth: { name, ...(auth ?? {}) },
      reconnection: reconnectionDelay !== undefined,
      reconnectionDelay: reconnectionDelay ?? 1000,
      randomizationFactor: 0,
      forceNew: true,
    });
    const record = { socket, received: [] };
    clients.set(name, record);
    socket.onAny((event, ...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      record.received.push([event, ...toWire(args)]);
      cb?.({ from: name, event });
    });
    socket.on("disconnect", (reason) => record.received.push(["#disconnect", reason]));
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    // Reconnections (not the first connection) are recorded with their recovery state.
    socket.on("connect", () => record.received.push(["#connect", socket.id, socket.recovered]));
    return socket.id;
  },
  async "client.emitWithAck"({ name, event, args, timeout }) {
    const { socket } = clients.get(name);
    return toWire(await socket.timeout(timeout ?? 3000).emitWithAck(event, ...fromWire(args ?? [])));
  },
  async "client.received"({ name }) {
    return clients.get(name).received;
  },
  async "client.connected"({ name }) {
    return clients.get(name).socket.connected;
  },
  async "client.state"({ name }) {
    const { socket } = clients.get(name);
    return { id: socket.id ?? null, connected: socket.connected, recovered: socket.recovered ?? false };
  },
  async "client.moveTo"({ name, url }) {
    // Cut the connection; the client's own reconnection goes to `url`, with its recovery.
    const { socket } = clients.get(name);
    socket.io.uri = url;
    socket.io.engine.close();
    return null;
  },
  async "client.close"({ name }) {
    clients.get(name).socket.disconnect();
    clients.delete(name);
    return null;
  },
  async "server.port"() {
    return httpServer.address().port;
  },
  async "server.emit"(msg) {
    operator(msg).emit(msg.event, ...fromWire(msg.args ?? []));
    return null;
  },
  async "server.emitWithAck"(msg) {
    return toWire(await operator(msg).timeout(msg.timeout ?? 3000).emitWithAck(msg.event, ...fromWire(msg.args ?? [])));
  },
  async "server.fetchSockets"(msg) {
    const sockets = await operator(msg).fetchSockets();
    return sockets.map((s) => ({
      id: s.id,
      rooms: [...s.rooms].sort(),
      data: s.data,
      auth: s.handshake.auth,
    }));
  },
  async "server.remoteSocket"(msg) {
    const sockets = await io.fetchSockets();
    const socket = sockets.find((s) => s.id === msg.sid);
    if (!socket) throw new Error(`no socket ${msg.sid}`);
    if (msg.action === "emit") socket.emit(msg.event, ...fromWire(msg.args ?? []));
    else if (msg.action === "join") socket.join(msg.room);
    else if (msg.action === "leave") socket.leave(msg.room);
    else if (msg.action === "disconnect") socket.disconnect(true);
    else if (msg.action === "emitWithAck") return toWire(await socket.timeout(msg.timeout ?? 3000).emitWithAck(msg.event, ...fromWire(msg.args ?? [])));
    return null;
  },
  async "server.socketsJoin"(msg) {
    operator(msg).socketsJoin(msg.join);
    return null;
  },
  async "server.socketsLeave"(msg) {
    operator(msg).socketsLeave(msg.leave);
    return null;
  },
  async "server.disconnectSockets"(msg) {
    operator(msg).disconnectSockets(msg.close ?? false);
    return null;
  },
  async "server.serverSideEmit"({ event, args }) {
    io.serverSideEmit(event, ...fromWire(args ?? []));
    return null;
  },
  async "server.serverSideEmitWithAck"({ event, args }) {
    return toWire(await io.serverSideEmitWithAck(event, ...fromWire(args ?? [])));
  },
  async "server.serverSideEvents"() {
    return serverSideEvents;
  },
  async "server.allRooms"() {
    return [...(await io.of("/").adapter.allRooms())].sort();
  },
  async "server.serverCount"() {
    return await io.of("/").adapter.serverCount();
  },
  async "emitter.emit"(msg) {
    let op = emitter.of(msg.nsp ?? "/");
    if (msg.rooms?.length) op = op.to(msg.rooms);
    if (msg.except?.length) op = op.except(msg.except);
    op.emit(msg.event, ...fromWire(msg.args ?? []));
    return null;
  },
  async "emitter.socketsJoin"(msg) {
    let op = emitter;
    if (msg.rooms?.length) op = op.to(msg.rooms);
    op.socketsJoin(msg.join);
    return null;
  },
  async "emitter.serverSideEmit"({ event, args }) {
    emitter.serverSideEmit(event, ...fromWire(args ?? []));
    return null;
  },
};

function answer(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

answer({ ready: true, port: httpServer.address().port });

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const command = commands[msg.cmd];
  if (!command) {
    answer({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` });
    return;
  }
  try {
    answer({ id: msg.id, ok: true, result: (await command(msg)) ?? null });
  } catch (err) {
    answer({ id: msg.id, ok: false, error: String(err?.message ?? err) });
  }
});
lines.on("close", () => process.exit(0));
