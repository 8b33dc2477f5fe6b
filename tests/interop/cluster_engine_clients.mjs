// Official socket.io-client clients against a cluster that needs no stickiness (tests of the
// cluster engine): `--count` clients, every other one polling-only, the rest upgrading; each
// joins room g<i % 2>, makes `--acks` acknowledged emits (again after a lost one), then every
// client must receive a broadcast to its room and one to everybody. Prints JSON lines:
// {"half": ...} once every client made half its acks (the test may kill a server then),
// {"result": ...} at the end.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    count: { type: "string", default: "20" },
    acks: { type: "string", default: "50" },
  },
});
const COUNT = Number(args.count);
const ACKS = Number(args.acks);
const print = (record) => process.stdout.write(JSON.stringify(record) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const clients = [];
for (let i = 0; i < COUNT; i++) {
  const transports = i % 2 ? ["polling", "websocket"] : ["polling"];
  const socket = io(args.url, {
    transports,
    reconnectionDelay: 100,
    reconnectionDelayMax: 300,
    randomizationFactor: 0,
  });
  const client = {
    i, socket, transports, room: `g${i % 2}`, acks: 0, retries: 0, connects: 0,
    recovered: 0, disconnects: [], errors: [], shouted: [], pids: [], upgraded: false,
  };
  socket.on("connect", () => {
    client.connects++;
    if (socket.recovered) client.recovered++;
    client.upgraded = socket.io.engine.transport.name === "websocket";
    socket.io.engine.on("upgrade", () => (client.upgraded = true));
  });
  socket.on("disconnect", (reason) => client.disconnects.push(reason));
  socket.on("connect_error", (err) => client.errors.push(`${err.message}: ${err.description ?? ""}`));
  socket.on("shouted", (text) => client.shouted.push(text));
  clients.push(client);
}

async function call(client, event, ...rest) {
  for (let attempt = 0; attempt < 20; attempt++) {
    while (!client.socket.connected) await sleep(10);
    try {
      return await client.socket.timeout(3000).emitWithAck(event, ...rest);
    } catch {
      client.retries++;
    }
  }
  throw new Error(`client ${client.i}: ${event} failed 20 times`);
}

async function run(client, from, to) {
  for (let n = from; n < to; n++) {
    const answer = await call(client, "echo", n, client.i);
    if (answer[0] !== n || answer[1] !== client.i) throw new Error(`bad ack ${answer}`);
    client.acks++;
  }
}

const started = Date.now();
let failures = 0;
const fail = (client, err) => {
  failures++;
  client.errors.push(String(err));
};
await Promise.all(clients.map(async (c) => {
  try {
    await call(c, "join", c.room);
    c.pids.push(await call(c, "whoami"));
    await run(c, 0, ACKS / 2);
  } catch (err) {
    fail(c, err);
  }
}));
// A broadcast gives every client an offset: what it recovers from after a reconnection.
await call(clients[0], "shout", null, "warm");
const warmDeadline = Date.now() + 5000;
while (!clients.every((c) => c.shouted.includes("warm")) && Date.now() < warmDeadline) await sleep(10);
print({ half: clients.map((c) => ({ pid: c.pids[0], upgraded: c.upgraded, sid: c.socket.id })) });
await Promise.all(clients.map(async (c) => {
  try {
    await run(c, ACKS / 2, ACKS);
    await call(c, "join", c.room); // rooms are kept by recovery; a new session joins again
    c.pids.push(await call(c, "whoami"));
  } catch (err) {
    fail(c, err);
  }
}));
// Broadcasts from one client of each room, and one to everybody, must reach every client.
await call(clients[0], "shout", "g0", "to-g0");
await call(clients[1], "shout", "g1", "to-g1");
await call(clients[2], "shout", null, "to-all");
const deadline = Date.now() + 5000;
const complete = (c) => c.shouted.includes(`to-${c.room}`) && c.shouted.includes("to-all");
while (!clients.every(complete) && Date.now() < deadline) await sleep(10);
for (const c of clients) {
  if (!complete(c)) fail(c, `missed a broadcast: ${c.shouted}`);
  const other = c.room === "g0" ? "to-g1" : "to-g0";
  if (c.shouted.includes(other)) fail(c, `got the broadcast of the other room`);
}
print({
  result: {
    failures,
    ms: Date.now() - started,
    clients: clients.map((c) => ({
      acks: c.acks, retries: c.retries, connects: c.connects, recovered: c.recovered,
      pids: c.pids, upgraded: c.upgraded, transports: c.transports, disconnects: c.disconnects,
      errors: c.errors.slice(0, 5),
    })),
  },
});
for (const c of clients) c.socket.disconnect();
process.stdout.write("", () => process.exit(0));
