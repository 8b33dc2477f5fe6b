// The official `socket.io-client` as the admin UI (or an application) uses it, driven over
// stdin/stdout by tests/admin/support.py.
//
//   node admin_node_client.mjs URL NAMESPACE AUTH_JSON TRANSPORTS_JSON [msgpack]
//
// Connects to NAMESPACE with AUTH_JSON as `auth` over TRANSPORTS_JSON (the UI's "WebSocket
// only" option is ["websocket"]); prints one JSON line per thing seen: {"connect": true}, {"connect_error":
// message}, {"disconnect": reason}, {"event": name, "args": [...]} (acknowledged with its
// arguments when the server asks, unless its name starts with "noack"). Each stdin line is a
// JSON array [event, ...args] to emit. Exits when stdin closes. With "msgpack", the client uses
// socket.io-msgpack-parser (the UI's "MessagePack parser" option).

import { io } from "socket.io-client";
import { createInterface } from "node:readline";

const [url, nsp, auth, transports, parserName] = process.argv.slice(2);
const parser =
  parserName === "msgpack" ? { parser: (await import("socket.io-msgpack-parser")).default } : {};
const socket = io(url + nsp, {
  transports: JSON.parse(transports),
  reconnection: false,
  auth: JSON.parse(auth),
  ...parser,
});
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
socket.on("connect", () => print({ connect: true, id: socket.id }));
socket.on("connect_error", (err) => print({ connect_error: err.message }));
socket.on("disconnect", (reason) => print({ disconnect: reason }));
socket.onAny((event, ...args) => {
  // An event the server wants acknowledged is answered with its arguments, unless its
  // name starts with "noack".
  if (typeof args[args.length - 1] === "function") {
    const ack = args.pop();
    if (!event.startsWith("noack")) ack(...args);
  }
  print({ event, args });
});

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim()) socket.emit(...JSON.parse(line));
});
lines.on("close", () => {
  socket.disconnect();
  process.exit(0);
});
