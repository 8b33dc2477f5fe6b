// Scenarios of sio_client.mjs about namespaces (static, dynamic, middlewares), rooms and
// broadcasts (with exceptions, with acknowledgements).

import {
  Manager,
  RUN_ROOM,
  TRANSPORTS,
  args,
  bytes,
  call,
  call1,
  check,
  checkOffset,
  checkSame,
  checkTransport,
  connectError,
  connected,
  markerRound,
  open,
  openAll,
  progress,
  received,
  room,
  show,
  sleep,
} from "./sio_driver.mjs";

export async function namespaces() {
  // "/" and "/admin" multiplexed on one connection.
  const manager = new Manager(args.url, {
    transports: TRANSPORTS,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
  });
  const root = open("root", { manager });
  await connected(root);
  const adm = open("admin", { manager, nsp: "/admin", auth: { token: "secret" } });
  await connected(adm);
  const rootMe = await call1(root, "whoami");
  const adminMe = await call1(adm, "whoami");
  check(adminMe.nsp === "/admin" && rootMe.nsp === "/", `nsps ${rootMe.nsp} ${adminMe.nsp}`);
  check(adminMe.id === adm.socket.id, "admin socket id differs from the server's");
  check(adminMe.id !== rootMe.id, "the two namespaces share a socket id");
  check(root.socket.io === adm.socket.io, "not multiplexed on one manager");
  checkSame(await call(adm, "echo", { a: bytes(4) }), [{ a: bytes(4) }], "admin binary echo");

  // Refused by the middleware: connect_error with the message and the data.
  const wrong = open("wrong", { nsp: "/admin", auth: { token: "nope" } });
  const missing = open("missing", { nsp: "/admin" });
  const unknown = open("unknown", { nsp: "/nope" });
  const wrongError = await connectError(wrong);
  checkSame(wrongError, { message: "not authorized", data: { code: 401, token: "nope" } }, "wrong");
  const missingError = await connectError(missing);
  checkSame(missingError, { message: "not authorized", data: { code: 401, token: null } }, "none");
  const unknownError = await connectError(unknown);
  check(unknownError.message === "Invalid namespace", `unknown nsp: ${show(unknownError)}`);
  await sleep(150);
  for (const c of [wrong, missing, unknown]) {
    check(c.connects.length === 0 && !c.socket.active, `${c.name} retried after refusal`);
  }

  // A broadcast in /admin reaches /admin only.
  await call(root, "bcast", { nsp: "/admin", to: [RUN_ROOM], event: "news", args: ["adm"] });
  await markerRound(root, [root]);
  await markerRound(adm, [adm], "/admin");
  const adminNews = received(adm, "news");
  check(adminNews.length === 1 && adminNews[0][0] === "adm", `admin news ${show(adminNews)}`);
  check(received(root, "news").length === 0, `"/" got ${show(received(root, "news"))}`);

  // Leaving /admin keeps "/" working on the same connection.
  const adminId = adm.socket.id;
  adm.socket.disconnect();
  checkSame(await call(root, "echo", "still"), ["still"], "echo after leaving /admin");
  const reason = await call1(root, "reason_of", adminId);
  check(reason === "client namespace disconnect", `server reason for /admin: ${reason}`);
  check(root.socket.connected, "root socket disconnected");
  await checkTransport(root);
  return { refused: [wrongError, missingError, unknownError] };
}

export async function dynamicNamespace() {
  const [a, b, c] = await openAll(
    ["a", { nsp: "/dyn-42" }],
    ["b", { nsp: "/dyn-42" }],
    ["c", { nsp: "/dyn-7" }],
  );
  const me = await call1(a, "whoami");
  check(me.nsp === "/dyn-42", `nsp ${me.nsp}`);
  check((await call1(c, "whoami")).nsp === "/dyn-7", "second dynamic namespace");
  const bad = open("bad", { nsp: "/dyn-x" });
  const denied = open("denied", { nsp: "/dyn-8", auth: { deny: true } });
  const badError = await connectError(bad);
  check(badError.message === "Invalid namespace", `/dyn-x: ${show(badError)}`);
  const deniedError = await connectError(denied);
  checkSame(deniedError, { message: "denied", data: { nsp: "/dyn-8" } }, "async middleware");
  // Broadcasts stay in their own child namespace.
  await call(a, "bcast", { to: [RUN_ROOM], event: "news", args: ["dyn-42"] });
  await markerRound(a, [a, b]);
  await markerRound(c, [c]);
  for (const x of [a, b]) {
    const news = received(x, "news");
    check(news.length === 1 && news[0][0] === "dyn-42", `${x.name} news ${show(news)}`);
    checkOffset(news[0], `${x.name} news`);
  }
  check(received(c, "news").length === 0, `/dyn-7 got ${show(received(c, "news"))}`);
  checkSame(await call(b, "echo", 1, bytes(2)), [1, bytes(2)], "echo in a dynamic namespace");
  for (const x of [a, b, c]) await checkTransport(x);
  return { namespaces: ["/dyn-42", "/dyn-7"] };
}

export async function rooms() {
  const [a, b, c] = await openAll(["a"], ["b"], ["c"]);
  const group = [a, b, c];
  const [r1, r2, r3, vip] = ["r1", "r2", "r3", "vip"].map(room);
  checkSame(await call1(a, "join", r1), [a.socket.id, RUN_ROOM, r1].sort(), "a rooms");
  checkSame(
    await call1(b, "join", [r1, r2, vip]),
    [b.socket.id, RUN_ROOM, r1, r2, vip].sort(),
    "b rooms",
  );
  await call(c, "join", r2);
  checkSame(await call1(a, "fetch", r1), [a.socket.id, b.socket.id].sort(), "fetch r1");
  checkSame(await call1(a, "fetch", r2), [b.socket.id, c.socket.id].sort(), "fetch r2");

  const offsets = new Set();
  let step = 0;
  async function expect(sender, spec, names, what) {
    step += 1;
    progress.step = what;
    const payload = { step, bin: spec.binary ? bytes(16, step) : undefined };
    if (!spec.binary) delete payload.bin;
    await call(sender, "bcast", { ...spec, event: "news", args: [payload] });
    await markerRound(sender, group);
    const got = [];
    let offset = null;
    for (const x of group) {
      const news = received(x, "news").filter((n) => n[0].step === step);
      check(news.length <= 1, `${what}: ${x.name} got it ${news.length} times`);
      if (news.length) {
        got.push(x.name);
        checkSame(news[0][0], payload, `${what}: payload at ${x.name}`);
        checkOffset(news[0], `${what} at ${x.name}`);
        check(offset === null || offset === news[0][1], `${what}: offsets differ`);
        offset = news[0][1];
      }
    }
    checkSame(got, names, `${what}: recipients`);
    if (offset !== null) {
      check(!offsets.has(offset), `${what}: offset ${offset} reused`);
      offsets.add(offset);
    }
  }

  await expect(a, { to: [r1] }, ["a", "b"], "io.to(r1)");
  await expect(a, { from: "socket", to: [r1] }, ["b"], "socket.to(r1) skips the sender");
  await expect(a, { to: [r1], except: [vip] }, ["a"], "io.to(r1).except(vip)");
  await expect(a, { broadcast: true, to: [RUN_ROOM] }, ["b", "c"], "socket.broadcast");
  await expect(a, { to: [RUN_ROOM], except: [r2] }, ["a"], "io.except(r2)");
  await expect(c, { to: [r1, r2] }, ["a", "b", "c"], "io.to([r1, r2]) once each");
  await expect(a, { to: [c.socket.id] }, ["c"], "io.to(socket id)");
  await expect(a, { from: "socket", to: [r2], except: [vip] }, ["c"], "socket.to(r2).except");
  await expect(b, { to: [r1], binary: true }, ["a", "b"], "binary broadcast");
  checkSame(await call1(b, "leave", r1), [b.socket.id, RUN_ROOM, r2, vip].sort(), "b leaves r1");
  await expect(a, { to: [r1] }, ["a"], "after b left r1");
  await call(a, "sockets_join", r2, r3);
  await expect(a, { to: [r3] }, ["b", "c"], "in(r2).socketsJoin(r3)");
  await call(a, "sockets_leave", r3, r3);
  await expect(a, { to: [r3] }, [], "in(r3).socketsLeave(r3)");
  checkSame(await call1(a, "fetch", r3), [], "fetch r3");
  for (const x of group) await checkTransport(x);
  return { steps: step, offsets: offsets.size };
}

export async function broadcastAcks() {
  const [a, b, c, d] = await openAll(["a"], ["b"], ["c"], ["d"]);
  const acks = room("acks");
  const silent = new Set();
  for (const x of [a, b, c, d]) {
    x.socket.on("poll", (question, callback) => {
      if (!silent.has(x.name)) callback({ name: x.name, question, bin: bytes(4, x.name.length) });
    });
  }
  for (const x of [a, b, c]) await call(x, "join", acks);
  const all = await call1(a, "poll_room", acks, 2, "q1");
  check(all.timeout === false, `timeout with every client answering: ${show(all)}`);
  const sorted = (r) => [...r].sort((x, y) => x.name.localeCompare(y.name));
  checkSame(
    sorted(all.responses),
    ["a", "b", "c"].map((name) => ({ name, question: "q1", bin: bytes(4, 1) })),
    "answers",
  );
  silent.add("c");
  const partial = await call1(b, "poll_room", acks, 0.3, "q2");
  check(partial.timeout === true, `no timeout with a silent client: ${show(partial)}`);
  checkSame(
    sorted(partial.responses).map((r) => r.name),
    ["a", "b"],
    "answers before the timeout",
  );
  const empty = await call1(d, "poll_room", room("empty"), 1, "q3");
  checkSame(empty, { responses: [], timeout: false }, "empty room");
  // The broadcast with acks carries no offset (it is not kept for recovery).
  const polls = received(d, "poll");
  check(polls.length === 0, `d is not in the room but was polled: ${show(polls)}`);
  for (const x of [a, b, c]) {
    const got = received(x, "poll");
    check(got.length === 2 && got[0].length === 1, `${x.name} polls: ${show(got)}`);
  }
  for (const x of [a, b, c, d]) await checkTransport(x);
  return { answers: all.responses.length, partial: partial.responses.length };
}
