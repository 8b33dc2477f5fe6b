// The official `socket.io-client` with `socket.io-msgpack-parser` against a tether server
// with parser="msgpack" (tests/interop/test_msgpack.py starts the server and reads the result).
//
//   node sio_msgpack_client.mjs URL TRANSPORT
//
// The server (see the test): "echo" acks its arguments, "describe" acks what it received
// (types and bytes), "ask" asks the client for an ack and acks the client's answer, "join"
// and "shout" (to a room: a broadcast); "/admin" echoes too; "/private" refuses with data.
// Prints one JSON object with what each step saw; Buffers as {"$bin": hex}.

import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";

const [url, transport] = process.argv.slice(2);
const options = { parser, transports: [transport], reconnection: false, forceNew: true };

const deadline = setTimeout(() => {
  process.stderr.write("timeout\n");
  process.exit(2);
}, 15_000);

function plain(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $ab: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

// emitWithAck resolves with the first argument of the ack only: this gets them all.
function ackAll(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...answer) => resolve(answer)));
}

function next(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

const result = {};
const a = io(url, options);
const welcome = next(a, "welcome");
await connected(a);
result.welcome = plain(await welcome);

// Client -> server, with ack; binary both ways (a Buffer, and a Uint8Array: ext type 0).
result.echo = plain(
  await ackAll(a, "echo", 1, "two", { three: [3, null] }, Buffer.from([0, 1, 255])),
);
result.describe = await a.emitWithAck(
  "describe",
  Buffer.from("buf"),
  new Uint8Array([7, 8, 9]),
  { nested: Buffer.from([4]) },
);

// Server -> client, with ack: the server emits "question" with an ack and acks our answer.
a.on("question", (x, bin, ack) => ack(x * 2, Buffer.concat([bin, Buffer.from([42])])));
result.ask = plain(await ackAll(a, "ask", 21));

// Namespaces.
const admin = io(`${url}/admin`, options);
await connected(admin);
result.admin = plain(await ackAll(admin, "echo", "in admin", Buffer.from([1])));

// Rooms and a broadcast (encoded once on the server) to two clients.
const b = io(url, options);
await connected(b);
await a.emitWithAck("join", "room");
await b.emitWithAck("join", "room");
const heardA = next(a, "news");
const heardB = next(b, "news");
const c = io(url, options);
await connected(c);
await c.emitWithAck("shout", "room", "hello", Buffer.from([9, 9]));
result.news = plain(await Promise.all([heardA, heardB]));

// A refused connection: connect_error with the message and the data.
const refused = io(`${url}/private`, options);
try {
  await connected(refused);
  result.refused = "connected";
} catch (err) {
  result.refused = { message: err.message, data: err.data };
}

for (const socket of [a, b, c, admin, refused]) socket.disconnect();
clearTimeout(deadline);
process.stdout.write(JSON.stringify(result));
