// Scenarios of sio_client.mjs about messages: the handshake, JSON and binary echoes with
// acknowledgements, server-to-client acknowledgements, ordering and volatile events.

import {
  ONLY,
  RUN,
  RUN_ROOM,
  bytes,
  call,
  call1,
  check,
  checkSame,
  checkTransport,
  connected,
  direct,
  isBinary,
  offsetsOnDirectEmits,
  open,
  openAll,
  progress,
  received,
  same,
  show,
  sleep,
  until,
  upgraded,
  waitEvents,
} from "./sio_driver.mjs";

export async function handshake() {
  const auth = { token: "t-1", nested: { list: [1, "two", null], "ü": "✓" } };
  const client = await connected(
    open("a", {
      auth,
      query: { q_user: "zoë", q_n: "42" },
      extraHeaders: { "x-tether-test": "hello" },
    }),
  );
  const me = await call1(client, "whoami");
  check(me.id === client.socket.id, `server id ${me.id}, client id ${client.socket.id}`);
  check(typeof me.id === "string" && me.id.length > 0, `bad id ${me.id}`);
  checkSame(me.auth, { run: RUN, name: "a", ...auth }, "handshake.auth");
  check(me.query.q_user === "zoë" && me.query.q_n === "42", `query ${show(me.query)}`);
  check(me.query.EIO === "4", `query.EIO ${me.query.EIO}`);
  check(me.header === "hello", `header x-tether-test: ${me.header}`);
  check(me.nsp === "/", `nsp ${me.nsp}`);
  check(me.recovered === false && client.socket.recovered === false, "recovered on first connect");
  checkSame(me.rooms, [me.id, RUN_ROOM].sort(), "rooms");
  checkSame(me.data, { name: "a" }, "socket.data");
  if (ONLY) check(me.transport === ONLY, `server sees transport ${me.transport}`);
  check(typeof client.socket._pid === "string", "no pid in the CONNECT answer (recovery is on)");
  await checkTransport(client);
  if (!ONLY) {
    const after = await call1(client, "whoami");
    check(after.transport === "websocket", `server transport after upgrade: ${after.transport}`);
  }
  return { id: me.id, serverTransport: me.transport, queryKeys: Object.keys(me.query).sort() };
}

const JSON_CASES = [
  [],
  ["hello"],
  [""],
  [0, 1, -1, 3.5, -2.25, 1e21, 2 ** 53 - 1, -(2 ** 53 - 1), 1e-7, 0.1, 123456789.125],
  [null],
  [true, false],
  ['héllo wörld ✓ 日本語 😀 \u0000 \u001f "quoted" \\ back\nslash / \u2028'],
  [{ a: 1, b: [1, 2, { c: null, d: { e: "f" } }], "": "empty key", "ü 😀": [] }],
  [[], {}, [[[]]], { x: {} }],
  ["a", 1, null, { b: [true] }, ["c"]],
  [nested(40)],
  ["x".repeat(100_000)],
  ["é".repeat(30_000) + "😀".repeat(1000)],
];

function nested(depth) {
  let value = { leaf: depth };
  for (let i = 0; i < depth; i++) value = { level: i, child: value, list: [i] };
  return value;
}

export async function echo() {
  const client = await connected(open("a"));
  // One at a time, with a sync handler.
  for (const [i, args] of JSON_CASES.entries()) {
    progress.case = i;
    checkSame(await call(client, "echo", ...args), args, `echo case ${i}`);
  }
  // All at once, with a coroutine handler: acks must match their ids.
  const answers = await Promise.all(JSON_CASES.map((a) => call(client, "echo_async", ...a)));
  answers.forEach((got, i) => checkSame(got, JSON_CASES[i], `echo_async case ${i}`));
  // A handler returning None acknowledges with no argument.
  const none = await call(client, "echo_none", 1, "two");
  check(none.length === 0, `echo_none acked with ${show(none)}`);
  // Server-initiated events carry the same values.
  for (const args of JSON_CASES) client.socket.emit("echo_event", "echoed", ...args);
  const events = await waitEvents(client, "echoed", JSON_CASES.length);
  events.forEach((got, i) =>
    checkSame(direct(got, JSON_CASES[i]), JSON_CASES[i], `server emit case ${i}`),
  );
  await checkTransport(client);
  return { cases: JSON_CASES.length, offsetsOnDirectEmits };
}

export async function echoLoneSurrogate() {
  // A JavaScript string may hold an unpaired surrogate (a truncated emoji, "😀".slice(0, 1));
  // JSON.stringify writes it as the escape "\ud83d", and Node's server echoes it back.
  const client = await connected(open("a"));
  const cases = [["😀".slice(0, 1)], ["end \udc00"], [{ key: "a\ud800b" }]];
  for (const [i, args] of cases.entries()) {
    checkSame(await call(client, "echo", ...args), args, `lone surrogate case ${i}`);
  }
  check(client.disconnects.length === 0, `disconnected: ${client.disconnects}`);
  checkSame(await call(client, "echo", "still here"), ["still here"], "echo after");
  return { cases: cases.length };
}

function binaryCases() {
  const ab = bytes(1024, 2);
  const backing = bytes(32, 15);
  return [
    [bytes(0)],
    [bytes(1, 1)],
    [ab.buffer.slice(ab.byteOffset, ab.byteOffset + ab.length)], // ArrayBuffer
    [new Uint8Array(bytes(10, 3))],
    [new Uint8Array(backing.buffer, backing.byteOffset + 4, 8)], // a view with an offset
    [{ file: bytes(100, 4), meta: { name: "f.bin", size: 100 } }],
    [[bytes(5, 5), "text", bytes(6, 6)]],
    [bytes(1, 7), bytes(2, 8), bytes(3, 9), bytes(4, 10), bytes(5, 11)],
    [{ a: { b: { c: [bytes(100 * 1024, 12)] } } }],
    ["mixed", 1, { buf: bytes(3, 13), list: [null, bytes(2, 14)] }, null],
    [Buffer.from([0x1e, 0x34, 0x62, 0x00, 0xff])], // separator, "4", "b" bytes
  ];
}

export async function binary() {
  const client = await connected(open("a"));
  const cases = binaryCases();
  for (const [i, args] of cases.entries()) {
    progress.case = i;
    const got = await call(client, "echo", ...args);
    checkSame(got, args, `binary echo case ${i}`);
  }
  const answers = await Promise.all(cases.map((a) => call(client, "echo_async", ...a)));
  answers.forEach((got, i) => checkSame(got, cases[i], `binary echo_async case ${i}`));
  // Binary in server-initiated events (BINARY_EVENT), interleaved with plain ones.
  for (const args of cases) {
    client.socket.emit("echo_event", "bin", ...args);
    client.socket.emit("echo_event", "bin", "plain");
  }
  const events = await waitEvents(client, "bin", cases.length * 2);
  cases.forEach((args, i) => {
    checkSame(direct(events[2 * i], args), args, `server binary emit case ${i}`);
    checkSame(direct(events[2 * i + 1], ["plain"]), ["plain"], `plain emit after case ${i}`);
  });
  check(isBinary(events[0][0]), "a received attachment is not binary");
  await checkTransport(client);
  return { cases: cases.length, offsetsOnDirectEmits };
}

export async function serverAck() {
  const client = await connected(open("a"));
  client.socket.on("question", (...rest) => {
    const callback = rest.pop();
    const [mode, ...values] = rest;
    if (mode === "one") callback({ got: values });
    else if (mode === "many") callback("a", 2, { got: values });
    else if (mode === "none") callback();
    else if (mode === "binary") callback({ bin: bytes(8, 1) }, bytes(3, 2));
    else if (mode === "late") setTimeout(() => callback({ late: values }), 50);
    // "silent": never answers
  });
  checkSame(
    await call1(client, "ask", 2, "one", "x", { y: [1] }),
    { kind: "one", answer: { got: ["x", { y: [1] }] } },
    "one answer",
  );
  checkSame(
    await call1(client, "ask", 2, "many", 1),
    { kind: "many", answer: ["a", 2, { got: [1] }] },
    "several answers",
  );
  checkSame(await call1(client, "ask", 2, "none"), { kind: "none", answer: null }, "no answer");
  checkSame(
    await call1(client, "ask", 2, "binary"),
    { kind: "many", answer: [{ bin: bytes(8, 1) }, bytes(3, 2)] },
    "binary answer",
  );
  checkSame(
    await call1(client, "ask", 2, "late", bytes(2, 3)),
    { kind: "one", answer: { late: [bytes(2, 3)] } },
    "late answer with a binary question",
  );
  checkSame(await call1(client, "ask", 0.3, "silent"), { error: "timeout" }, "silent client");
  // Several questions in flight at once: each answer goes to its own question.
  const many = await Promise.all(
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => call1(client, "ask", 2, i % 2 ? "late" : "one", i)),
  );
  many.forEach((got, i) => {
    const expected = i % 2 ? { late: [i] } : { got: [i] };
    checkSame(got, { kind: "one", answer: expected }, `concurrent question ${i}`);
  });
  // The callback form of socket.emit.
  client.socket.emit("ask_callback", "many", "cb");
  const [answered] = await waitEvents(client, "answered", 1);
  const expected = ["a", 2, { got: ["cb"] }];
  checkSame(direct(answered, expected), expected, "callback answer");
  await checkTransport(client);
  return { questions: 14 };
}

export async function ackDisconnect() {
  // The server waits for an answer (5 s timeout) and the client leaves without answering:
  // the server's emit_with_ack must end at once (DisconnectedError), not at its timeout.
  const [client, observer] = await openAll(["a"], ["observer"]);
  const id = client.socket.id;
  client.socket.emit("ask", 5, "silent", () => {});
  await until(() => received(client, "question").length === 1, "the question");
  check((await call1(observer, "outcome_of", id)) === "pending", "outcome before leaving");
  const left = Date.now();
  client.socket.disconnect();
  let outcome = "pending";
  while (outcome === "pending" && Date.now() - left < 1500) {
    await sleep(25);
    outcome = await call1(observer, "outcome_of", id);
  }
  const ms = Date.now() - left;
  check(outcome === "disconnected", `emit_with_ack still ${outcome} ${ms} ms after leaving`);
  await checkTransport(observer);
  return { outcome, ms };
}

export async function ordering() {
  const client = await connected(open("a"));
  // Server -> client: a burst emitted in one go arrives complete and in order.
  client.socket.emit("burst", 500);
  const seq = await waitEvents(client, "seq", 500);
  seq.forEach((got, i) => check(same(direct(got, [i]), [i]), `seq #${i}: ${show(got)}`));
  // Client -> server: 300 events in one tick, handled in order (each ack is n + 1).
  const acks = await Promise.all(Array.from({ length: 300 }, (_, n) => call1(client, "count", n)));
  acks.forEach((got, n) => check(got === n + 1, `count ${n} acked ${got}`));
  await checkTransport(client);
  return { burst: seq.length, counted: acks.length };
}

export async function volatile() {
  const client = await connected(open("a"));
  await upgraded(client); // volatile packets are dropped while an upgrade pauses the transport
  const sent = [];
  for (const delay of [0.15, 0.3]) {
    sent.push(await call1(client, "volatile", delay));
    await sleep(50);
  }
  const got = await waitEvents(client, "v", 2);
  checkSame(got, [["volatile"], ["volatile"]], "volatile events (no offset)");
  await checkTransport(client);
  return { received: got.length };
}

/** The server-side disconnect reason of socket `id`, asked through `observer`. */
