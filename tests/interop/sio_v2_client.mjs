// The official `socket.io-client` 2.x (Engine.IO v3, the Socket.IO v4 protocol) against a
// tether server with `allow_eio3` (tests/interop/test_eio3_clients.py starts the server and
// reads the result).
//
//   node sio_v2_client.mjs URL SCENARIO TRANSPORTS [OPTIONS_JSON]
//
// TRANSPORTS: "polling", "websocket" or "polling,websocket" (polling, then the upgrade).
// Scenarios: "main" (events, acks both ways, binary, a namespace with a query, a refused
// namespace), "mixed" (a v2 and a v4 client in one room get one broadcast), "heartbeat"
// (the connection outlives pingInterval + pingTimeout several times), "reconnect" (the
// server closes the session; the client reconnects). Prints one JSON object.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ioV2 = require("socket.io-client-v2");
const { io: ioV4 } = await import("socket.io-client");

const [url, scenario, transportList, optionsJson] = process.argv.slice(2);
const transports = transportList.split(",");
const extra = optionsJson ? JSON.parse(optionsJson) : {};

const deadline = setTimeout(() => {
  process.stderr.write(`timeout in scenario ${scenario}\n`);
  process.exit(2);
}, 20_000);

function v2(path, opts = {}) {
  return ioV2(url + path, { transports, reconnection: false, forceNew: true, ...extra, ...opts });
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

function ack(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...answer) => resolve(answer)));
}

// Buffers become {bin: [bytes]} so that the result is JSON.
function plain(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer) {
    return { bin: [...new Uint8Array(value)] };
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function connected(socket) {
  const [outcome] = await Promise.race([
    once(socket, "connect").then(() => ["connect"]),
    once(socket, "error").then((args) => [{ error: args[0] }]),
    once(socket, "connect_error").then((args) => [{ connect_error: String(args[0]) }]),
  ]);
  return outcome;
}

async function main() {
  const root = v2("/", { query: { name: "v2" } });
  root.on("question", (n, cb) => cb(n * 2));
  const events = [];
  root.on("bin-back", (...args) => events.push(plain(args)));
  const result = { connect: await connected(root) };
  result.id = root.id;
  result.engineId = root.io.engine.id;
  result.echo = plain(await ack(root, "echo", "hello", { a: 1 }, [1, "two"]));
  result.ask = await ack(root, "ask", 21);
  // Lengths in UTF-16 code units (the emoji is two), in a payload large enough to compress.
  const big = "é😀a".repeat(3000);
  const [bigBack, bigBin] = await ack(root, "echo", big, Buffer.alloc(3000, 7));
  result.big = bigBack === big && bigBin.length === 3000 && bigBin.every((b) => b === 7);
  const binAnswer = await ack(root, "bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([9]) });
  result.bin = plain(binAnswer);
  while (events.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
  result.binEvent = events[0];
  result.server = await ack(root, "whoami");

  // Namespaces on the same connection (the Manager of "/").
  const chat = root.io.socket("/chat", { query: { token: "abc", room: "x y" } });
  result.chatConnect = await connected(chat);
  result.chatId = chat.id;
  result.chat = await ack(chat, "whoami");

  const denied = root.io.socket("/private");
  result.denied = await connected(denied);

  result.transport = root.io.engine.transport.name;
  for (const s of [root, chat, denied]) s.close();
  return result;
}

async function mixed() {
  const old = v2("/");
  const current = ioV4(url, { transports, reconnection: false, forceNew: true });
  const got = { old: [], current: [] };
  old.on("news", (...args) => got.old.push(plain(args)));
  current.on("news", (...args) => got.current.push(plain(args)));
  await Promise.all([connected(old), once(current, "connect")]);
  await Promise.all([ack(old, "join", "mixed"), ack(current, "join", "mixed")]);
  await ack(old, "shout", "mixed", "hi all");
  while (got.old.length < 2 || got.current.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = { ...got, transports: [old.io.engine.transport.name, current.io.engine.transport.name] };
  old.close();
  current.close();
  return result;
}

async function heartbeat() {
  const socket = v2("/");
  const result = { connect: await connected(socket) };
  const engineId = socket.io.engine.id;
  let pongs = 0;
  socket.on("pong", () => pongs++);
  const disconnects = [];
  socket.on("disconnect", (reason) => disconnects.push(reason));
  await new Promise((resolve) => setTimeout(resolve, extra.wait ?? 1500));
  result.pongs = pongs;
  result.disconnects = [...disconnects];
  result.sameSession = socket.io.engine.id === engineId && socket.connected;
  result.echo = await ack(socket, "echo", "still here");
  socket.close();
  return result;
}

async function reconnect() {
  const socket = v2("/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  const result = { connect: await connected(socket) };
  const firstId = socket.id;
  const disconnected = once(socket, "disconnect");
  const reconnected = once(socket, "reconnect");
  socket.emit("drop");
  result.disconnect = (await disconnected)[0];
  await reconnected;
  if (!socket.connected) await once(socket, "connect");
  result.changedId = socket.id !== firstId;
  result.echo = await ack(socket, "echo", "again");
  socket.close();
  return result;
}

const scenarios = { main, mixed, heartbeat, reconnect };
const result = await scenarios[scenario]();
clearTimeout(deadline);
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
