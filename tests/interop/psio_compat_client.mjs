// The official `socket.io-client` against tests/compat/psio_app.py (a python-socketio
// application), run on python-socketio and on tether.compat.socketio
// (tests/compat/test_psio_app.py starts the server and checks what this prints).
//
//   node psio_compat_client.mjs URL
//
// Prints one JSON object: what each step got back.

import { io } from "socket.io-client";

const url = process.argv[2];
const deadline = setTimeout(() => {
  process.stderr.write("timeout\n");
  process.exit(2);
}, 15_000);

const opts = { reconnection: false, transports: ["websocket"] };
const out = {};

function refusal(socket) {
  return new Promise((resolve) => {
    socket.once("connect_error", (err) => resolve({ message: err.message, data: err.data ?? null }));
    socket.once("connect", () => resolve("connected"));
  });
}
function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}
function next(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

// refusals
const noAuth = io(`${url}/chat`, { ...opts, forceNew: true });
out.badToken = await refusal(noAuth);
noAuth.close();
const refusedRoot = io(url, { ...opts, forceNew: true, extraHeaders: { "x-refuse": "1" } });
out.refused = await refusal(refusedRoot);
refusedRoot.close();

const root = io(url, { ...opts, forceNew: true });
await connected(root);
const chat = io(`${url}/chat`, { ...opts, forceNew: true, auth: { token: "secret", name: "nod" } });
const welcome = next(chat, "welcome");
await connected(chat);
out.welcome = await welcome;

out.add = await root.emitWithAck("add", 2, 3);
out.pair = await new Promise((resolve) => root.emit("pair", (...args) => resolve(args)));
out.caught = await root.emitWithAck("mystery", 1, "x");

chat.on("question", (text, ack) => ack(`node heard ${text}`));
out.ask = await chat.emitWithAck("ask", "how");
out.join = await chat.emitWithAck("join", "r2");

const other = io(`${url}/chat`, { ...opts, forceNew: true, auth: { token: "secret", name: "eve" } });
await connected(other);
await other.emitWithAck("join", "r2");
const said = next(chat, "said");
await other.emitWithAck("say", "r2", "from eve");
out.said = await said;

root.on("please_ack", (data, ack) => ack("node got", data));
const acked = next(root, "acked");
root.emit("ack_me", { n: 2 });
out.acked = await acked;

const ticks = [];
const ticked = new Promise((resolve) =>
  root.on("tick", (i) => {
    ticks.push(i);
    if (ticks.length === 3) resolve();
  }),
);
out.ticks = await root.emitWithAck("ticks", 3);
await ticked;
out.tickValues = ticks;

const gone = next(root, "disconnect");
root.emit("kick");
out.kicked = await gone;

chat.close();
other.close();
clearTimeout(deadline);
process.stdout.write(JSON.stringify(out) + "\n");
