// Drives the official `engine.io-client` against an Engine.IO v4 echo server.
//
//   node eio_client.mjs --url http://127.0.0.1:3000 --scenario text-echo \
//       [--path /engine.io/] [--transports polling,websocket] [--timeout 10000] [--coalesce]
//
// Every option can also come from the environment: EIO_URL, EIO_PATH, EIO_TRANSPORTS,
// EIO_SCENARIO, EIO_TIMEOUT_MS, EIO_COALESCE=1. The server must echo every message (text as
// text, binary as binary). One JSON object is printed per line; the last one is the verdict:
//   {"result": "pass" | "fail", "scenario": ..., "error": ..., ...}
// Exit status: 0 pass, 1 fail, 2 timeout, 3 bad usage.
//
// Scenarios: text-echo, binary-echo, many-messages, upgrade, client-close, server-close,
// too-big.
// `upgrade --coalesce` holds the probe socket's writes from the 3probe answer until the
// client has flushed its buffer, so the upgrade packet "5" and the messages queued during
// the upgrade reach the server in one TCP segment (one read).
// With --transports polling (or websocket) alone, every scenario also checks that the session
// stays on that transport from open to end.

import { parseArgs } from "node:util";
import { Socket } from "engine.io-client";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.EIO_URL },
    path: { type: "string", default: process.env.EIO_PATH ?? "/engine.io/" },
    transports: { type: "string", default: process.env.EIO_TRANSPORTS ?? "polling,websocket" },
    scenario: { type: "string", default: process.env.EIO_SCENARIO },
    timeout: { type: "string", default: process.env.EIO_TIMEOUT_MS ?? "10000" },
    coalesce: { type: "boolean", default: process.env.EIO_COALESCE === "1" },
  },
});

const SCENARIOS = {
  "text-echo": textEcho,
  "binary-echo": binaryEcho,
  "many-messages": manyMessages,
  upgrade,
  "client-close": clientClose,
  "server-close": serverClose,
  "too-big": tooBig,
};

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function finish(code, record) {
  emit({ scenario: args.scenario, transports: TRANSPORTS, ...record });
  // Let stdout drain before leaving; open sockets must not keep us alive.
  process.stdout.write("", () => process.exit(code));
}

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

if (!args.url || !SCENARIOS[args.scenario]) {
  process.stderr.write(
    `usage: eio_client.mjs --url URL --scenario {${Object.keys(SCENARIOS).join(",")}} ` +
      "[--path /engine.io/] [--transports polling,websocket] [--timeout ms] [--coalesce]\n",
  );
  process.exit(3);
}

const TRANSPORTS = args.transports.split(",").filter(Boolean);
const TIMEOUT_MS = Number(args.timeout);
const ONLY = TRANSPORTS.length === 1 ? TRANSPORTS[0] : null;

const deadline = setTimeout(() => {
  finish(2, { result: "fail", error: `timeout after ${TIMEOUT_MS} ms`, ...progress });
}, TIMEOUT_MS);

// What a scenario has done so far, reported on timeout.
const progress = {};

// --- helpers ------------------------------------------------------------------------------

/** Queue of received messages: nothing is lost between two awaits. */
class Inbox {
  constructor(socket) {
    this.items = [];
    this.waiters = [];
    socket.on("message", (data) => {
      const item = normalize(data);
      if (this.waiters.length) this.waiters.shift()(item);
      else this.items.push(item);
    });
  }

  next() {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async take(count) {
    const out = [];
    while (out.length < count) {
      const item = await this.next();
      out.push(item);
      progress.received = (progress.received ?? 0) + 1;
      progress.lastReceived = describe(item);
    }
    return out;
  }
}

function normalize(data) {
  if (typeof data === "string") return { text: data };
  // engine.io-parser decodes a message packet without data ("4") as `undefined`: that is how
  // the official client receives an empty text message.
  if (data === undefined) return { text: "" };
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const view = ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);
    return { binary: Buffer.from(view) };
  }
  return { other: String(data), type: typeof data };
}

function describe(item) {
  if ("text" in item) {
    const t = item.text;
    return `text(${t.length}) ${JSON.stringify(t.length > 40 ? t.slice(0, 40) + "…" : t)}`;
  }
  if ("binary" in item) return `binary(${item.binary.length})`;
  return `${item.type} ${item.other}`;
}

function same(sent, got) {
  if (typeof sent === "string") return "text" in got && got.text === sent;
  const bytes = ArrayBuffer.isView(sent)
    ? Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength)
    : Buffer.from(sent);
  return "binary" in got && Buffer.compare(bytes, got.binary) === 0;
}

function checkEchoes(sent, got) {
  check(got.length === sent.length, `expected ${sent.length} echoes, got ${got.length}`);
  for (let i = 0; i < sent.length; i++) {
    check(
      same(sent[i], got[i]),
      `echo #${i}: sent ${describe(normalize(sent[i]))}, got ${describe(got[i])}`,
    );
  }
}

function bytes(size, seed = 0) {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + seed * 7 + 11) & 0xff;
  return buf;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Opens a session; resolves once the handshake is done, with the transport history. */
function connect(extra = {}) {
  const url = new URL(args.url);
  const socket = new Socket(url.origin, {
    path: args.path,
    transports: TRANSPORTS,
    ...extra,
  });
  const history = { transports: [], upgrades: [], upgradeErrors: [], closes: [] };
  socket.on("upgrade", (t) => {
    history.upgrades.push(t.name);
    emit({ event: "upgrade", transport: t.name });
  });
  socket.on("upgradeError", (err) => {
    history.upgradeErrors.push(String(err?.message ?? err));
    emit({ event: "upgradeError", error: String(err?.message ?? err) });
  });
  socket.on("close", (reason, details) => {
    history.closes.push(reason);
    emit({ event: "close", reason, details: details?.description?.toString?.() ?? null });
  });
  const inbox = new Inbox(socket);
  let handshake = {};
  socket.once("handshake", (data) => {
    handshake = data; // the server's open packet, as sent
  });
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      history.transports.push(socket.transport.name);
      emit({
        event: "open",
        transport: socket.transport.name,
        keys: Object.keys(handshake).sort(),
        ...handshake,
      });
      resolve({ socket, inbox, history });
    });
    socket.once("error", (err) => reject(new Failure(`connect error: ${err?.message ?? err}`)));
    socket.once("close", (reason) => reject(new Failure(`closed before open: ${reason}`)));
  });
}

/** With a single transport configured, the session must never leave it. */
function checkTransport({ socket, history }) {
  if (!ONLY) return;
  check(history.transports[0] === ONLY, `opened on ${history.transports[0]}, expected ${ONLY}`);
  check(history.upgrades.length === 0, `unexpected upgrade to ${history.upgrades}`);
  check(socket.transport.name === ONLY, `now on ${socket.transport.name}, expected ${ONLY}`);
}

async function echo(session, messages) {
  for (const m of messages) session.socket.send(m);
  const got = await session.inbox.take(messages.length);
  checkEchoes(messages, got);
  return got;
}

// --- scenarios ----------------------------------------------------------------------------

async function textEcho() {
  const session = await connect();
  const messages = [
    "hello",
    "",
    "héllo wörld ✓ 日本語 😀", // multi-byte UTF-8, astral plane
    "bAQIDBA==", // looks like a base64 binary packet over polling: must stay text
    "4",
    "2probe",
    '{"a":[1,2,{"b":null}]}',
    "x".repeat(10 * 1024),
    "é".repeat(50 * 1024), // 100 KiB of UTF-8 in 50 Ki characters
  ];
  await echo(session, messages);
  checkTransport(session);
  session.socket.close();
  return { count: messages.length, transport: session.socket.transport.name };
}

async function binaryEcho() {
  const session = await connect();
  const sizes = [0, 1, 2, 125, 126, 1024, 65535, 65536, 100 * 1024];
  const messages = [];
  for (const size of sizes) {
    messages.push(bytes(size, 1)); // Buffer
    const ab = bytes(size, 2);
    messages.push(ab.buffer.slice(ab.byteOffset, ab.byteOffset + size)); // ArrayBuffer
  }
  messages.push(Uint8Array.from([0, 255, 0x1e, 0x34, 0x62])); // separator / "4" / "b" bytes
  await echo(session, messages);
  checkTransport(session);
  session.socket.close();
  return { sizes, count: messages.length, transport: session.socket.transport.name };
}

async function manyMessages() {
  const session = await connect();
  const count = 1000;
  // One burst in a single tick: the client packs it into payloads (polling) or frames.
  const burst = [];
  for (let i = 0; i < count; i++) burst.push(i % 5 === 4 ? bytes(i % 64, i) : `message ${i}`);
  progress.phase = "burst";
  await echo(session, burst);
  // Then a paced stream, one message per macrotask, crossing several heartbeats.
  progress.phase = "paced";
  const paced = [];
  const started = Date.now();
  for (let i = 0; Date.now() - started < 700; i++) {
    const m = i % 3 === 2 ? bytes(8, i) : `paced ${i}`;
    paced.push(m);
    session.socket.send(m);
    await sleep(2);
  }
  checkEchoes(paced, await session.inbox.take(paced.length));
  checkTransport(session);
  session.socket.close();
  return { burst: count, paced: paced.length, transport: session.socket.transport.name };
}

async function upgrade() {
  check(
    TRANSPORTS.join(",") === "polling,websocket",
    "the upgrade scenario needs --transports polling,websocket",
  );
  const session = await connect();
  const { socket, inbox, history } = session;
  check(history.transports[0] === "polling", `opened on ${history.transports[0]}, not polling`);
  check(socket._upgrades.includes("websocket"), `server offers upgrades ${socket._upgrades}`);

  const sent = [];
  const phases = { beforeUpgrading: 0, duringUpgrade: 0, afterUpgrade: 0 };
  let phase = "beforeUpgrading";
  const send = (tag) => {
    const i = sent.length;
    const m = i % 4 === 3 ? bytes(16 + (i % 32), i) : `${tag} ${i}`;
    sent.push(m);
    phases[phase] += 1;
    socket.send(m);
  };
  let corked = null;
  socket.on("upgrading", (transport) => {
    phase = "duringUpgrade";
    if (args.coalesce) {
      corked = transport.ws?._socket; // the net.Socket under the `ws` WebSocket
      check(corked && typeof corked.cork === "function", "cannot reach the probe's TCP socket");
      corked.cork();
    }
    // Sent while the polling transport is being paused: buffered by the client, then
    // flushed on the new transport. The server must neither lose nor reorder them.
    for (let k = 0; k < 10; k++) send("upgrading");
  });
  let upgraded = false;
  socket.on("upgrade", () => {
    upgraded = true;
    phase = "afterUpgrade";
    // "5" is written now; the buffered messages follow on the next tick: uncork after both.
    if (corked) setTimeout(() => corked.uncork(), 20);
  });
  const started = Date.now();
  while (!upgraded) {
    check(history.upgradeErrors.length === 0, `upgrade failed: ${history.upgradeErrors}`);
    check(Date.now() - started < 3000, "no upgrade within 3 s");
    send(phase === "duringUpgrade" ? "during" : "before");
    await sleep(1);
  }
  for (let k = 0; k < 20; k++) {
    send("after");
    if (k % 5 === 0) await sleep(1);
  }
  progress.phases = phases;
  checkEchoes(sent, await inbox.take(sent.length));
  check(socket.transport.name === "websocket", `transport is ${socket.transport.name}`);
  check(history.upgrades.join() === "websocket", `upgrades seen: ${history.upgrades}`);
  // And the upgraded session keeps working in both directions.
  await echo(session, ["after upgrade", bytes(1024, 9)]);
  socket.close();
  return { sent: sent.length, phases, upgradeMs: Date.now() - started, coalesced: !!corked };
}

async function clientClose() {
  const session = await connect({ upgrade: ONLY === null });
  const { socket, history } = session;
  if (!ONLY) {
    // Close after the upgrade, so this covers closing an upgraded session.
    const started = Date.now();
    while (socket.transport.name !== "websocket") {
      check(Date.now() - started < 3000, "no upgrade within 3 s");
      await sleep(5);
    }
  }
  progress.phase = "echo before close";
  await echo(session, ["before close"]);
  progress.phase = "closing";
  const sid = socket.id;
  const transport = socket.transport.name;
  const raw = transport === "websocket" ? socket.transport.ws : null;
  const rawClosed = raw
    ? new Promise((resolve) => raw.once("close", (code) => resolve(code)))
    : null;
  const closedAt = Date.now();
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.close(); // waits for the write buffer to drain, then sends "1" and closes
  await closed;
  check(history.closes.join() === "forced close", `close reasons: ${history.closes}`);
  const result = { sid, transport };
  progress.phase = "closed: checking the server side";
  if (raw) {
    // The server must answer the WebSocket closing handshake (the client would otherwise
    // wait 30 s) and drop the TCP connection.
    result.wsCloseCode = await rawClosed;
    result.wsClosedMs = Date.now() - closedAt;
    check(result.wsClosedMs < 2000, `WebSocket close took ${result.wsClosedMs} ms`);
  } else {
    // The "1" close packet went out in a POST; the session must then be unknown.
    result.pollStatus = await pollUntilGone(sid, 2000);
    check(result.pollStatus === 400, `GET with the closed sid answered ${result.pollStatus}`);
  }
  checkTransport(session);
  return result;
}

async function pollUntilGone(sid, withinMs) {
  const base = new URL(args.path, args.url);
  base.search = new URLSearchParams({ EIO: "4", transport: "polling", sid }).toString();
  const started = Date.now();
  let status;
  do {
    const response = await fetch(base, { signal: AbortSignal.timeout(withinMs) });
    status = response.status;
    await response.arrayBuffer();
    if (status === 400) break;
    await sleep(20);
  } while (Date.now() - started < withinMs);
  return status;
}

async function serverClose() {
  // The client stops answering pings, so the server must end the session on its ping
  // timeout. `_sendPacket` is the client's private send path (engine.io-client 6.6).
  const session = await connect({ upgrade: ONLY === null });
  const { socket, history } = session;
  check(typeof socket._sendPacket === "function", "engine.io-client internals changed");
  const { _pingInterval: interval, _pingTimeout: timeout } = socket;
  await echo(session, ["hello"]);
  const sendPacket = socket._sendPacket.bind(socket);
  let pings = 0;
  socket._sendPacket = (type, ...rest) => {
    if (type === "pong") {
      pings += 1;
      return;
    }
    sendPacket(type, ...rest);
  };
  progress.phase = "waiting for the server to close";
  const started = Date.now();
  const reason = await new Promise((resolve) => socket.once("close", resolve));
  const elapsed = Date.now() - started;
  const result = { transport: socket.transport?.name, reason, elapsedMs: elapsed, pings };
  check(pings >= 1, "the server sent no ping before closing");
  // "ping timeout" would mean the client's own timer fired first: the server did not close.
  check(
    reason === "transport close" || reason === "transport error",
    `close reason ${reason}: the server did not close the session`,
  );
  check(
    elapsed <= interval + timeout + 1000,
    `closed after ${elapsed} ms (ping ${interval}+${timeout} ms)`,
  );
  check(history.closes.length === 1, `close events: ${history.closes}`);
  return result;
}

async function tooBig() {
  // As engine.io-client's own test "provides details when maxHttpBufferSize is reached": one
  // message over the server's maxHttpBufferSize (1e6) ends the session; the verdict reports
  // the close details (over WebSocket, the CloseEvent's code and reason).
  const { socket } = await connect({ upgrade: false });
  const closed = new Promise((resolve) =>
    socket.once("close", (reason, details) => resolve({ reason, details })),
  );
  socket.send("a".repeat(1_000_001));
  progress.phase = "waiting for the server to close";
  const { reason, details } = await closed;
  return {
    reason,
    description: details?.description ?? null,
    closeCode: details?.context?.code ?? null,
    closeReason: details?.context?.reason ?? null,
  };
}

// --- main ---------------------------------------------------------------------------------

try {
  const details = await SCENARIOS[args.scenario]();
  clearTimeout(deadline);
  finish(0, { result: "pass", ...details });
} catch (err) {
  clearTimeout(deadline);
  const message = err instanceof Failure ? err.message : String(err?.stack ?? err);
  finish(1, { result: "fail", error: message, ...progress });
}
