// The official `socket.io-client` against a tether server whose connection handlers refuse
// (tests/interop/test_connect_refusal.py starts the server and reads the result).
//
//   node sio_refusal_client.mjs URL
//
// On one Manager (WebSocket only): "/" first, then for each of "/sync" and "/async" a socket
// without auth (refused), then the same socket again with `auth.ok` (accepted), as the
// socket.io-client documentation says to retry after a refusal. After each outcome, a `state`
// round trip on "/" asks the server for its view of the namespace: anything it sent before
// the answer has arrived by then. Prints one JSON object: per namespace and attempt, the
// `connect_error` (message, data), the socket's own events, the raw packets of the
// namespace in arrival order, and the server's state.

import { Manager } from "socket.io-client";

const url = process.argv[2];
const manager = new Manager(url, { transports: ["websocket"], reconnection: false });
let packets = [];
manager.on("packet", (p) => packets.push({ type: p.type, nsp: p.nsp, data: p.data ?? null }));

const deadline = setTimeout(() => {
  process.stderr.write("timeout\n");
  process.exit(2);
}, 10_000);

const root = manager.socket("/");
await new Promise((resolve) => root.once("connect", resolve));

function outcome(socket) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no answer"), 3000);
    const settle = (value) => {
      clearTimeout(timer);
      socket.off("connect_error", refused);
      socket.off("connect", connected);
      resolve(value);
    };
    const refused = (err) => settle({ message: err.message, data: err.data });
    const connected = () => settle(null);
    socket.on("connect_error", refused);
    socket.on("connect", connected);
  });
}

async function attempt(socket, nsp, seen) {
  const error = await outcome(socket);
  const state = await root.emitWithAck("state", nsp);
  return { error, seen, packets: packets.filter((p) => p.nsp === nsp), state };
}

const result = {};
for (const nsp of ["/sync", "/async"]) {
  packets = [];
  let seen = [];
  const socket = manager.socket(nsp, { auth: {} });
  socket.on("connect", () => seen.push(["connect"]));
  socket.onAny((...args) => seen.push(["event", ...args]));
  const refused = await attempt(socket, nsp, seen);
  // As socket.io-client's documentation says to, after a refusal: new auth, connect again.
  packets = [];
  seen = [];
  socket.auth = { ok: true };
  socket.connect();
  const accepted = await attempt(socket, nsp, seen);
  result[nsp] = { refused, accepted };
}
clearTimeout(deadline);
process.stdout.write(JSON.stringify(result) + "\n");
root.disconnect();
manager.engine?.close();
process.exit(0);
