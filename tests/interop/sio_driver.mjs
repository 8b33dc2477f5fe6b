// Shared by the scenarios of sio_client.mjs: options, verdict output, and the helpers that
// open official `socket.io-client` sockets and record what happens to them.

import { randomBytes } from "node:crypto";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { Manager, io as connectSocket } from "socket.io-client";

export { Manager };

export const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.SIO_URL },
    transports: { type: "string", default: process.env.SIO_TRANSPORTS ?? "polling,websocket" },
    scenario: { type: "string", default: process.env.SIO_SCENARIO },
    timeout: { type: "string", default: process.env.SIO_TIMEOUT_MS ?? "10000" },
  },
});

export function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

export function finish(code, record) {
  emit({ scenario: args.scenario, transports: TRANSPORTS, ...record });
  // Let stdout drain before leaving; open sockets must not keep us alive.
  process.stdout.write("", () => process.exit(code));
}

export class Failure extends Error {}

export function check(condition, message) {
  if (!condition) throw new Failure(message);
}

export const TRANSPORTS = args.transports.split(",").filter(Boolean);
export const ONLY = TRANSPORTS.length === 1 ? TRANSPORTS[0] : null;
export const RUN = randomBytes(6).toString("hex");
export const RUN_ROOM = `run:${RUN}`;
const ACK_MS = 3000;

// What a scenario has done so far, reported on failure and timeout.
export const progress = {};

// --- helpers ------------------------------------------------------------------------------

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` is true (checked every 5 ms). */
export async function until(condition, label, ms = 3000) {
  const started = Date.now();
  while (!condition()) {
    check(Date.now() - started < ms, `timed out after ${ms} ms waiting for ${label}`);
    await sleep(5);
  }
}

export function bytes(size, seed = 0) {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + seed * 7 + 11) & 0xff;
  return buf;
}

export function isBinary(value) {
  return Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** JSON-comparable form: binary values become {$bin: hex}, object keys sorted. */
function canon(value) {
  if (isBinary(value)) {
    const view = ArrayBuffer.isView(value)
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      : Buffer.from(value);
    return { $bin: view.toString("hex") };
  }
  if (Array.isArray(value)) return value.map(canon);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = canon(value[key]);
    return out;
  }
  return value;
}

export function same(a, b) {
  return isDeepStrictEqual(canon(a), canon(b));
}

export function show(value) {
  const text = JSON.stringify(canon(value));
  return text === undefined ? String(value) : text.length > 300 ? text.slice(0, 300) + "…" : text;
}

export function checkSame(got, expected, what) {
  check(same(got, expected), `${what}: expected ${show(expected)}, got ${show(got)}`);
}

const tracked = new WeakSet();

/**
 * Opens a socket (a new connection unless `manager` is given) and records what happens to it:
 * events (`inbox`), connects, disconnect reasons, connect errors, and its Engine.IO transports.
 */
export function open(name, { nsp = "/", auth = {}, manager = null, ...options } = {}) {
  const url = new URL(nsp, args.url).toString();
  const fullAuth = { run: RUN, name, ...auth };
  const socket = manager
    ? manager.socket(nsp, { auth: fullAuth })
    : connectSocket(url, {
        transports: TRANSPORTS,
        forceNew: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 200,
        randomizationFactor: 0,
        auth: fullAuth,
        ...options,
      });
  const client = {
    name,
    socket,
    log: [],
    connects: [],
    disconnects: [],
    errors: [],
    engines: null,
  };
  socket.onAny((event, ...rest) => {
    client.log.push({ event, args: rest.filter((a) => typeof a !== "function") });
  });
  socket.on("connect", () => {
    client.connects.push({ id: socket.id, recovered: socket.recovered });
    emit({ event: "connect", client: name, nsp, id: socket.id, recovered: socket.recovered });
  });
  socket.on("disconnect", (reason) => {
    client.disconnects.push(reason);
    emit({ event: "disconnect", client: name, nsp, reason });
  });
  socket.on("connect_error", (err) => {
    client.errors.push({ message: err.message, data: err.data });
    emit({ event: "connect_error", client: name, nsp, message: err.message, data: err.data });
  });
  if (!tracked.has(socket.io)) {
    // The first socket of a connection (of a Manager) follows its Engine.IO transports.
    tracked.add(socket.io);
    client.engines = [];
    socket.io.on("open", () => {
      const engine = socket.io.engine;
      const record = { first: engine.transport.name, upgrades: [] };
      client.engines.push(record);
      engine.on("upgrade", (transport) => {
        record.upgrades.push(transport.name);
        emit({ event: "upgrade", client: name, transport: transport.name });
      });
    });
  }
  return client;
}

export async function connected(client, count = 1) {
  await until(
    () => client.connects.length >= count || client.errors.length > 0,
    `${client.name} to connect`,
  );
  check(
    client.connects.length >= count,
    `${client.name}: connect_error ${show(client.errors.at(-1))}`,
  );
  return client;
}

export async function connectError(client) {
  await until(
    () => client.errors.length > 0 || client.connects.length > 0,
    `${client.name}: connect_error`,
  );
  check(client.connects.length === 0, `${client.name} connected, expected connect_error`);
  return client.errors[0];
}

export async function openAll(...specs) {
  const opened = specs.map(([name, options]) => open(name, options));
  for (const client of opened) await connected(client);
  return opened;
}

/**
 * Emits `event` with `rest` and resolves with the acknowledgement's arguments; fails at once
 * if the socket disconnects first.
 */
export function call(client, event, ...rest) {
  return new Promise((resolve, reject) => {
    const { socket } = client;
    const done = () => {
      clearTimeout(timer);
      socket.off("disconnect", gone);
    };
    const gone = (reason) => {
      done();
      reject(new Failure(`${client.name}: disconnected (${reason}) before the ack of ${event}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Failure(`${client.name}: no ack for ${event} within ${ACK_MS} ms`));
    }, ACK_MS);
    socket.on("disconnect", gone);
    socket.emit(event, ...rest, (...answer) => {
      done();
      resolve(answer);
    });
  });
}

export async function call1(client, event, ...rest) {
  const answer = await call(client, event, ...rest);
  check(answer.length === 1, `${event}: ack with ${answer.length} arguments ${show(answer)}`);
  return answer[0];
}

export function received(client, event) {
  return client.log.filter((e) => e.event === event).map((e) => e.args);
}

export async function waitEvents(client, event, count, ms = 3000) {
  await until(
    () => received(client, event).length >= count,
    `${client.name}: ${count} "${event}" events (got ${received(client, event).length})`,
    ms,
  );
  return received(client, event);
}

/**
 * Every client of `group` gets a "marker" broadcast after whatever was sent to it before:
 * once it arrives everywhere, anything else sent earlier has arrived too (one connection
 * keeps its order).
 */
let markers = 0;
export async function markerRound(sender, group, nsp = undefined) {
  markers += 1;
  const mark = markers;
  await call(sender, "bcast", { nsp, to: [RUN_ROOM], event: "marker", args: [mark] });
  for (const client of group) {
    await until(
      () => received(client, "marker").some((a) => a[0] === mark),
      `${client.name}: marker ${mark}`,
    );
  }
}

/**
 * The arguments of an event sent with socket.emit, without the offset Node's server appends
 * to those too when connection state recovery is on (tether appends it to broadcasts only).
 */
export function direct(eventArgs, expected) {
  const extra = eventArgs.length === expected.length + 1 && typeof eventArgs.at(-1) === "string";
  if (extra) offsetsOnDirectEmits = true;
  return extra ? eventArgs.slice(0, -1) : eventArgs;
}
export let offsetsOnDirectEmits = false;

export function checkOffset(eventArgs, what) {
  // Connection state recovery is on: a broadcast carries its offset as last argument.
  check(
    eventArgs.length === 2 && typeof eventArgs[1] === "string" && eventArgs[1].length > 0,
    `${what}: expected [payload, offset], got ${show(eventArgs)}`,
  );
}

/** With one transport every connection stays on it; with both, each open one upgrades. */
export async function checkTransport(client) {
  if (client.engines === null || client.engines.length === 0) return;
  const engine = client.socket.io.engine;
  const last = client.engines.at(-1);
  if (ONLY) {
    for (const record of client.engines) {
      check(record.first === ONLY, `${client.name}: opened on ${record.first}, not ${ONLY}`);
      check(record.upgrades.length === 0, `${client.name}: upgraded to ${record.upgrades}`);
    }
    check(engine.transport.name === ONLY, `${client.name}: now on ${engine.transport.name}`);
    return;
  }
  for (const record of client.engines) {
    check(record.first === "polling", `${client.name}: opened on ${record.first}, not polling`);
  }
  if (engine.readyState !== "open") return;
  await until(() => engine.transport.name === "websocket", `${client.name}: upgrade`, 3000);
  check(last.upgrades.join() === "websocket", `${client.name}: upgrades ${last.upgrades}`);
}

export async function upgraded(client) {
  if (!ONLY) {
    await until(() => client.socket.io.engine?.transport?.name === "websocket", "upgrade");
  }
}

export function room(name) {
  return `${RUN}:${name}`;
}
