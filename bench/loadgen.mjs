// The load generator: speaks Engine.IO v4 / Socket.IO v5 by hand over `ws` (WebSocket) and
// node:http (long-polling), so a message costs it a string concat and an indexOf, not a
// socket.io-client. Driven by bench/run.py:
//
//   node bench/loadgen.mjs '{"scenario":"echo","port":3000,...}'
//
// It prints `MARK <name>` at phase boundaries and waits for a line on stdin before going on
// (the driver samples the server's /proc there), then prints `RESULT <json>` and exits.
//
// With BENCH_PARSER=msgpack (the servers read it too), the WebSocket client speaks
// socket.io-msgpack-parser's wire instead, through that package: scenarios connect, idle,
// echo, echo-object and binary only.
import http from "node:http";
import net from "node:net";
import readline from "node:readline";
import WebSocket from "ws";

const cfg = JSON.parse(process.argv[2]);
const MSGPACK = process.env.BENCH_PARSER === "msgpack";
const msgpackParser = MSGPACK ? (await import("socket.io-msgpack-parser")).default : null;
const msgpackEncoder = MSGPACK ? new msgpackParser.Encoder() : null;
// One packet as the one binary message socket.io-msgpack-parser makes of it.
const packed = (packet) => msgpackEncoder.encode(packet)[0];
const PORT = cfg.port;
// Several servers of one cluster: clients connect to each in turn.
const PORTS = cfg.ports ?? [cfg.port];
let portTurn = 0;
// More than ~28k connections to one port need more source addresses than 127.0.0.1 (one
// ephemeral port range per source): clients take 127.0.0.1 .. 127.0.0.<sources> in turn,
// starting at the <source_offset>th (several generators start at different ones, so that
// their clients spread evenly over the sources).
const SOURCES = cfg.sources ?? 1;
let sourceTurn = cfg.source_offset ?? 0;
const PATH = "/socket.io/";
const rl = readline.createInterface({ input: process.stdin });
const waiting = [];
rl.on("line", () => waiting.shift()?.());

function mark(name) {
  process.stdout.write(`MARK ${name}\n`);
  return new Promise((resolve) => waiting.push(resolve));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now(); // ms, monotonic

const stats = { errors: 0, closes: 0, pings: 0, error_samples: [] };
function error(what) {
  stats.errors++;
  if (stats.error_samples.length < 5) stats.error_samples.push(String(what));
}

// ---------------------------------------------------------------- WebSocket client
class WsClient {
  constructor() {
    this.acks = new Map();
    this.nextId = 0;
    this.onTick = null;
    this.pendingBinary = null; // {id, parts} for a binary ack waiting for its attachment
    this.closedByUs = false;
    this.port = PORTS[portTurn++ % PORTS.length];
    this.localAddress = `127.0.0.${1 + (sourceTurn++ % SOURCES)}`;
    if (MSGPACK) {
      this.decoder = new msgpackParser.Decoder();
      this.decoder.on("decoded", (packet) => this.onPacket(packet));
    }
  }
  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.port}${PATH}?EIO=4&transport=websocket`, {
        perMessageDeflate: false,
        localAddress: this.localAddress,
      });
      this.ws = ws;
      let done = false;
      if (MSGPACK) {
        this.connected = (ok, packet) => {
          done = true;
          if (ok) resolve(this);
          else reject(new Error(`connect_error ${JSON.stringify(packet.data)}`));
        };
      }
      ws.on("message", (data, isBinary) => {
        if (isBinary) return this.onBinary(data);
        const s = data.toString();
        if (!done) {
          if (s[0] === "0") ws.send(MSGPACK ? packed({ type: 0, nsp: "/" }) : "40");
          else if (s.startsWith("40")) {
            done = true;
            resolve(this);
          } else if (s.startsWith("44")) reject(new Error(`connect_error ${s}`));
          return;
        }
        this.onText(s);
      });
      ws.on("error", (e) => {
        if (!done) reject(e);
        else error(e.message);
      });
      ws.on("close", () => {
        if (!this.closedByUs) stats.closes++;
        if (!done) reject(new Error("closed during handshake"));
      });
    });
  }
  onText(s) {
    const t = s.charCodeAt(0);
    if (t === 50 /* 2 ping */) {
      stats.pings++;
      this.ws.send("3");
      return;
    }
    if (t !== 52 /* 4 message */) return;
    const k = s.charCodeAt(1);
    if (k === 50 /* 2 event */) {
      if (this.onTick) this.onTick(s);
    } else if (k === 51 /* 3 ack */) {
      let i = 2;
      while (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      this.settle(Number(s.slice(2, i)), s.slice(i), null);
    } else if (k === 54 /* 6 binary ack */) {
      const dash = s.indexOf("-");
      let i = dash + 1;
      while (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      this.pendingBinary = { id: Number(s.slice(dash + 1, i)), json: s.slice(i) };
    }
  }
  // A msgpack packet: CONNECT answer, CONNECT_ERROR, ACK (its data array in place of the
  // JSON text), EVENT (a tick: not supported).
  onPacket(packet) {
    if (packet.type === 3) this.settle(packet.id, packet.data, null);
    else if (packet.type === 0 || packet.type === 4) this.connected?.(packet.type === 0, packet);
    else if (packet.type === 2) error("msgpack: events are not counted");
  }
  onBinary(buf) {
    if (MSGPACK) {
      try {
        this.decoder.add(buf);
      } catch (e) {
        error(`msgpack: ${e.message}`);
      }
      return;
    }
    const p = this.pendingBinary;
    this.pendingBinary = null;
    if (!p) return error("unexpected binary frame");
    this.settle(p.id, p.json, buf);
  }
  settle(id, json, buf) {
    const cb = this.acks.get(id);
    if (!cb) return this.gaveUp ? undefined : error(`unknown ack ${id}`);
    this.acks.delete(id);
    cb(json, buf);
  }
  emit(event, args) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.acks.set(id, (json, buf) => resolve([json, buf]));
      if (MSGPACK) this.ws.send(packed({ type: 2, data: [event, ...args], id, nsp: "/" }));
      else this.ws.send(`42${id}${JSON.stringify([event, ...args])}`);
    });
  }
  emitBinary(event, n, buf) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.acks.set(id, (json, b) => resolve([json, b]));
      if (MSGPACK) {
        this.ws.send(packed({ type: 2, data: [event, n, buf], id, nsp: "/" }));
        return;
      }
      this.ws.send(`451-${id}${JSON.stringify([event, n, { _placeholder: true, num: 0 }])}`);
      this.ws.send(buf);
    });
  }
  close() {
    this.closedByUs = true;
    this.ws.close();
  }
}

// ---------------------------------------------------------------- long-polling client
function request(agent, method, query, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: PORT,
        method,
        agent,
        path: `${PATH}?EIO=4&transport=polling${query}`,
        headers: body === undefined ? {} : { "content-type": "text/plain;charset=UTF-8" },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`${method} ${res.statusCode} ${text}`));
          else resolve(text);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

class PollClient {
  constructor() {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    this.acks = new Map();
    this.nextId = 0;
    this.open = true;
  }
  async connect() {
    const first = await request(this.agent, "GET", "");
    this.sid = JSON.parse(first.slice(1)).sid;
    this.q = `&sid=${this.sid}`;
    await this.post("40");
    let connected = false;
    while (!connected) {
      for (const p of (await request(this.agent, "GET", this.q)).split("\x1e")) {
        if (p.startsWith("40")) connected = true;
        else if (p.startsWith("44")) throw new Error(`connect_error ${p}`);
      }
    }
    this.loop();
    return this;
  }
  post(body) {
    return request(this.agent, "POST", this.q, body);
  }
  async loop() {
    while (this.open) {
      let text;
      try {
        text = await request(this.agent, "GET", this.q);
      } catch (e) {
        if (this.open) error(e.message);
        return;
      }
      for (const p of text.split("\x1e")) {
        if (p === "2") {
          stats.pings++;
          this.post("3").catch((e) => error(e.message));
        } else if (p === "1") {
          if (this.open) stats.closes++;
          this.open = false;
        } else if (p.startsWith("43")) {
          let i = 2;
          while (p.charCodeAt(i) >= 48 && p.charCodeAt(i) <= 57) i++;
          const id = Number(p.slice(2, i));
          const cb = this.acks.get(id);
          if (!cb) {
            if (!this.gaveUp) error(`unknown ack ${id}`);
          } else {
            this.acks.delete(id);
            cb(p.slice(i));
          }
        }
      }
    }
  }
  emit(event, args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.acks.set(id, (json) => resolve([json, null]));
      this.post(`42${id}${JSON.stringify([event, ...args])}`).catch(reject);
    });
  }
  close() {
    this.open = false;
    this.post("1").catch(() => {});
    setTimeout(() => this.agent.destroy(), 200);
  }
}

// ---------------------------------------------------------------- keep-alive HTTP/1.1 client
// One connection, one request at a time (no pipelining), over node:net: a request is one
// write, an answer is read up to its Content-Length (every answer must have one), so the
// client costs little beside the server.
class HttpClient {
  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.connect({ host: "127.0.0.1", port: PORT }, () => resolve(this));
      this.sock.setNoDelay(true);
      this.buf = Buffer.alloc(0);
      this.pending = null;
      this.sock.on("data", (d) => {
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        this.parse();
      });
      this.sock.on("error", (e) => {
        if (this.pending) this.fail(e);
        else reject(e);
      });
      this.sock.on("close", () => {
        if (!this.closedByUs) stats.closes++;
        if (this.pending) this.fail(new Error("connection closed before the answer"));
      });
    });
  }
  fail(e) {
    const p = this.pending;
    this.pending = null;
    p.reject(e);
  }
  parse() {
    if (!this.pending) return;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.toString("latin1", 0, end);
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!m) return this.fail(new Error(`no content-length: ${head.slice(0, 200)}`));
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const status = Number(head.slice(9, 12));
    const body = this.buf.toString("utf8", end + 4, total);
    this.buf = this.buf.subarray(total);
    const p = this.pending;
    this.pending = null;
    p.resolve([status, body]);
  }
  get(path) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.sock.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${PORT}\r\n\r\n`);
    });
  }
  close() {
    this.closedByUs = true;
    this.sock.end();
  }
}

// ---------------------------------------------------------------- helpers
async function connectMany(n, make = () => new WsClient(), concurrency = 200) {
  const clients = [];
  let next = 0;
  let failed = 0;
  async function worker() {
    while (next < n) {
      next++;
      try {
        clients.push(await make().connect());
      } catch (e) {
        failed++;
        error(e.message);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { clients, failed };
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    }),
  ]);
}

// What a pending ack is settled with when the watchdog gives up on it (after 10 s).
const TIMEOUT = Symbol("timeout");

// Drives `clients` doing back-to-back acked echoes until `seconds` pass; checks each answer.
// No timer per message: one watchdog settles the acks of a client that has waited 10 s.
async function echoLoop(clients, seconds, send, check) {
  const lat = [];
  let bad = 0;
  let sent = 0;
  let acked = 0;
  const deadline = now() + seconds * 1000;
  const watchdog = setInterval(() => {
    const late = now() - 10000;
    for (const c of clients) {
      if (c.sentAt !== undefined && c.sentAt < late) {
        for (const cb of c.acks.values()) cb(TIMEOUT);
        c.acks.clear();
        c.gaveUp = true; // an answer arriving later is not an error of its own
      }
    }
  }, 500);
  await Promise.all(
    clients.map(async (c) => {
      let n = 0;
      while (now() < deadline) {
        const t0 = now();
        c.sentAt = t0;
        sent++;
        const r = await send(c, n);
        if (r[0] === TIMEOUT) return;
        lat.push(now() - t0);
        acked++;
        if (!check(r, n)) bad++;
        n++;
      }
      c.sentAt = undefined;
    }),
  );
  clearInterval(watchdog);
  lat.sort((a, b) => a - b);
  return {
    ops: acked,
    sent,
    lost: sent - acked,
    bad,
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
  };
}

function textEcho(size) {
  const payload = "y".repeat(size);
  return {
    send: (c, n) => c.emit("echo", [n, payload]),
    check: ([json], n) => {
      const a = MSGPACK ? json : JSON.parse(json); // msgpack: the decoded array
      return a.length === 2 && a[0] === n && a[1].length === size;
    },
  };
}

// One small object each way: 42<id>["echo",{"n":<n>,"text":"yyy..."}], the ack its copy
// (what a typed handler validates into a model and serializes back).
function objectEcho(size) {
  const text = "y".repeat(size);
  return {
    send: (c, n) => c.emit("echo", [{ n, text }]),
    check: ([json], n) => {
      const a = MSGPACK ? json : JSON.parse(json); // msgpack: the decoded array
      return a.length === 1 && a[0]?.n === n && a[0]?.text?.length === size;
    },
  };
}

// A tick is 42["tick",<seq>,"xxx..."] (python-socketio puts spaces after commas).
function tickCounter(expectCount, size) {
  return {
    got: 0,
    bad: 0,
    dupOrGap: 0,
    onTick(s) {
      const c1 = s.indexOf(",");
      const c2 = s.indexOf(",", c1 + 1);
      const seq = Number(s.slice(c1 + 1, c2));
      const q1 = s.indexOf('"', c2);
      const len = s.lastIndexOf('"') - q1 - 1;
      if (seq !== this.got) this.dupOrGap++;
      if (len !== size) this.bad++;
      this.got++;
      if (this.got === expectCount && this.resolve) this.resolve();
    },
    done() {
      return this.got >= expectCount ? Promise.resolve() : new Promise((r) => (this.resolve = r));
    },
  };
}

// How many of `clients` answer one acked echo (`concurrency` in flight, 10 s each at most);
// a client whose WebSocket is no longer open does not count.
async function aliveCount(clients, concurrency) {
  let next = 0;
  let alive = 0;
  async function worker() {
    while (next < clients.length) {
      const i = next++;
      const c = clients[i];
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      const r = await withTimeout(c.emit("echo", [i]), 10000);
      if (r === "timeout") continue;
      const a = MSGPACK ? r[0] : JSON.parse(r[0]);
      if (a.length === 1 && a[0] === i) alive++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
  return alive;
}

async function closeAll(clients) {
  for (const c of clients) c.close();
  await sleep(300);
}

// ---------------------------------------------------------------- scenarios
const scenarios = {
  async connect() {
    await mark("begin");
    const t0 = now();
    const { clients, failed } = await connectMany(cfg.n, undefined, cfg.concurrency ?? 200);
    const secs = (now() - t0) / 1000;
    await mark("end");
    await sleep(cfg.settle_ms ?? 1000);
    await mark("settled");
    await closeAll(clients);
    return { connected: clients.length, failed, seconds: secs, ops: clients.length };
  },

  // `connect` and `connected` frame the connecting (several generators start it together);
  // after the measured phase every client makes one acked echo (`alive_end` counts them).
  async idle() {
    await mark("connect");
    const t0 = now();
    const { clients, failed } = await connectMany(cfg.n);
    const connectSeconds = (now() - t0) / 1000;
    await mark("connected");
    await sleep(cfg.settle_ms ?? 1000);
    stats.pings = 0;
    await mark("begin");
    await sleep(cfg.seconds * 1000);
    await mark("end");
    const pings = stats.pings;
    const alive = await aliveCount(clients, cfg.alive_concurrency ?? 200);
    await closeAll(clients);
    return {
      connected: clients.length,
      failed,
      seconds: cfg.seconds,
      connect_seconds: connectSeconds,
      pings_answered: pings,
      alive_end: alive,
    };
  },

  async echo() {
    const { clients, failed } = await connectMany(cfg.clients);
    const { send, check } = textEcho(cfg.size ?? 16);
    await mark("begin");
    const r = await echoLoop(clients, cfg.seconds, send, check);
    await mark("end");
    await closeAll(clients);
    return { connected: clients.length, failed, seconds: cfg.seconds, ...r };
  },

  async "echo-object"() {
    const { clients, failed } = await connectMany(cfg.clients);
    const { send, check } = objectEcho(cfg.size ?? 16);
    await mark("begin");
    const r = await echoLoop(clients, cfg.seconds, send, check);
    await mark("end");
    await closeAll(clients);
    return { connected: clients.length, failed, seconds: cfg.seconds, ...r };
  },

  async polling() {
    const { clients, failed } = await connectMany(cfg.clients, () => new PollClient(), 50);
    const { send, check } = textEcho(cfg.size ?? 16);
    await mark("begin");
    const r = await echoLoop(clients, cfg.seconds, send, check);
    await mark("end");
    await closeAll(clients);
    return { connected: clients.length, failed, seconds: cfg.seconds, ...r };
  },

  async binary() {
    const { clients, failed } = await connectMany(cfg.clients);
    const size = cfg.size;
    const send = (c, n) => {
      const buf = Buffer.alloc(size, n & 0xff);
      buf.writeUInt32BE(n >>> 0, 0);
      return c.emitBinary("echo", n, buf);
    };
    const check = ([json, buf], n) => {
      if (MSGPACK) {
        // The ack's data array, its binary inline: [n, Buffer].
        const [m, b] = json;
        return json.length === 2 && m === n && b?.length === size && b.readUInt32BE(0) === n >>> 0;
      }
      const a = JSON.parse(json);
      return (
        a.length === 2 &&
        a[0] === n &&
        a[1]?._placeholder === true &&
        buf?.length === size &&
        buf.readUInt32BE(0) === n >>> 0
      );
    };
    await mark("begin");
    const r = await echoLoop(clients, cfg.seconds, send, check);
    await mark("end");
    await closeAll(clients);
    return { connected: clients.length, failed, seconds: cfg.seconds, ...r };
  },

  // `clients` keep-alive connections share `requests` GETs of /api/item/<n> (each connection
  // sends its next request once the previous answer is in); every answer must be 200 with
  // the item n as JSON. Stops early (timed_out) after `timeout_s`.
  async http() {
    const { clients, failed } = await connectMany(cfg.clients, () => new HttpClient(), 50);
    if (failed) throw new Error(`${failed} connections failed`);
    const lat = [];
    let next = 0;
    let done = 0;
    let bad = 0;
    let lost = 0;
    await mark("begin");
    const t0 = now();
    const deadline = t0 + (cfg.timeout_s ?? 60) * 1000;
    await Promise.all(
      clients.map(async (c) => {
        while (next < cfg.requests && now() < deadline) {
          const n = next++;
          const t = now();
          let status;
          let body;
          try {
            [status, body] = await c.get(`/api/item/${n}`);
          } catch (e) {
            lost++;
            error(e.message);
            return;
          }
          lat.push(now() - t);
          done++;
          try {
            const item = JSON.parse(body);
            if (status !== 200 || item.id !== n || item.name !== `item ${n}`) bad++;
          } catch {
            bad++;
          }
        }
      }),
    );
    const secs = (now() - t0) / 1000;
    await mark("end");
    await closeAll(clients);
    lat.sort((a, b) => a - b);
    return {
      connected: clients.length,
      failed,
      seconds: secs,
      ops: done,
      expected: cfg.requests,
      lost,
      bad,
      timed_out: done + lost < cfg.requests,
      p50_ms: percentile(lat, 50),
      p99_ms: percentile(lat, 99),
    };
  },

  // `rooms` rooms of `members` sockets each; in every room one member asks for `count`
  // broadcasts of `size` bytes; every member (the sender too) must get them all, in order.
  async fanout() {
    const rooms = cfg.rooms ?? 1;
    const members = cfg.members;
    const { count, size } = cfg;
    const { clients, failed } = await connectMany(rooms * members + (cfg.rooms ? 0 : 1));
    if (failed) throw new Error(`${failed} connections failed`);
    const counters = [];
    const senders = [];
    await Promise.all(
      clients.map(async (c, i) => {
        if (i >= rooms * members) {
          senders.push({ c, room: "r0" }); // fanout: a sender outside the room
          return;
        }
        const room = `r${i % rooms}`;
        const k = tickCounter(count, size);
        c.onTick = (s) => k.onTick(s);
        counters.push(k);
        await c.emit("join", [room]);
        if (cfg.rooms && i < rooms) senders.push({ c, room }); // rooms: the first member
      }),
    );
    await mark("begin");
    const t0 = now();
    const all = Promise.all([
      ...senders.map(({ c, room }) => c.emit("fanout", [{ room, count, size }])),
      ...counters.map((k) => k.done()),
    ]);
    const timedOut = (await withTimeout(all, (cfg.timeout_s ?? 60) * 1000)) === "timeout";
    const secs = (now() - t0) / 1000;
    await mark("end");
    const expected = counters.length * count;
    const delivered = counters.reduce((a, k) => a + k.got, 0);
    await closeAll(clients);
    return {
      connected: clients.length,
      failed,
      seconds: secs,
      ops: delivered,
      expected,
      lost: expected - delivered,
      out_of_order: counters.reduce((a, k) => a + k.dupOrGap, 0),
      bad: counters.reduce((a, k) => a + k.bad, 0),
      timed_out: timedOut,
    };
  },
};
scenarios.rooms = scenarios.fanout;

if (MSGPACK && !["connect", "idle", "echo", "echo-object", "binary"].includes(cfg.scenario)) {
  throw new Error(`BENCH_PARSER=msgpack: scenario ${cfg.scenario} is not supported`);
}
const result = await scenarios[cfg.scenario]();
const parser = MSGPACK ? "msgpack" : "json";
process.stdout.write(`RESULT ${JSON.stringify({ ...result, ...stats, parser })}\n`);
rl.close();
process.exit(0);
