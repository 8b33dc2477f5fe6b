// Scenarios of sio_client.mjs about the life of a connection: disconnections from either side
// and their reasons, transport cuts, ping timeouts, and connection state recovery.

import {
  RUN_ROOM,
  call,
  call1,
  check,
  checkOffset,
  checkSame,
  checkTransport,
  connected,
  markerRound,
  openAll,
  progress,
  received,
  room,
  sleep,
  until,
  upgraded,
  waitEvents,
} from "./sio_driver.mjs";

async function serverReason(observer, id) {
  for (let i = 0; i < 40; i++) {
    // None server-side is an ack with no argument: the reason is not recorded yet.
    const [reason = null] = await call(observer, "reason_of", id);
    if (reason !== null) return reason;
    await sleep(25);
  }
  return null;
}

export async function disconnectServer() {
  const [client, observer] = await openAll(["a"], ["observer"]);
  const id = client.socket.id;
  check((await call1(client, "kick", false)) === true, "kick not acknowledged");
  await until(() => client.disconnects.length === 1, "disconnect");
  check(client.disconnects[0] === "io server disconnect", `reason ${client.disconnects[0]}`);
  await sleep(300);
  check(client.connects.length === 1 && !client.socket.active, "reconnected by itself");
  check((await serverReason(observer, id)) === "server namespace disconnect", "server reason");
  // Connecting again by hand gives a new session (nothing to recover).
  client.socket.connect();
  await connected(client, 2);
  check(client.socket.recovered === false, "recovered after a server-side disconnect");
  checkSame(await call(client, "echo", "again"), ["again"], "echo after reconnecting");
  await checkTransport(client);
  return { reasons: client.disconnects, newId: client.socket.id !== id };
}

export async function disconnectServerClose() {
  const [client, observer] = await openAll(["a"], ["observer"]);
  const id = client.socket.id;
  await call(client, "kick", true);
  await until(() => client.disconnects.length === 1, "disconnect");
  await sleep(300);
  const reason = await serverReason(observer, id);
  // socket.disconnect(true) sends DISCONNECT first, then closes the connection (Node's way):
  // the client must not take it for a network failure and reconnect.
  check(client.disconnects[0] === "io server disconnect", `reason ${client.disconnects[0]}`);
  check(client.connects.length === 1 && !client.socket.active, "reconnected by itself");
  check(reason === "server namespace disconnect", `server reason ${reason}`);
  return { reasons: client.disconnects, serverReason: reason };
}

export async function disconnectClient() {
  const [client, observer] = await openAll(["a"], ["observer"]);
  await upgraded(client);
  const id = client.socket.id;
  client.socket.disconnect();
  check(client.disconnects[0] === "io client disconnect", `reason ${client.disconnects[0]}`);
  const reason = await serverReason(observer, id);
  check(reason === "client namespace disconnect", `server reason ${reason}`);
  await checkTransport(observer);
  return { serverReason: reason };
}

export async function disconnectRoom() {
  const [a, b, observer] = await openAll(["a"], ["b"], ["observer"]);
  const kick = room("kick");
  const ids = [a.socket.id, b.socket.id];
  for (const x of [a, b]) await call(x, "join", kick);
  check((await call1(observer, "kick_room", kick, false)) === true, "kick_room not acked");
  for (const x of [a, b]) {
    await until(() => x.disconnects.length === 1, `${x.name} disconnect`);
    check(x.disconnects[0] === "io server disconnect", `${x.name}: ${x.disconnects[0]}`);
  }
  check(observer.disconnects.length === 0, "the observer was disconnected");
  const reason = await serverReason(observer, ids[0]);
  check(reason === "server namespace disconnect", `server reason ${reason}`);
  await sleep(200);
  for (const x of [a, b]) check(!x.socket.active && x.connects.length === 1, "reconnected");
  await checkTransport(observer);
  return { serverReason: reason };
}

export async function dropReconnect() {
  const [client, observer] = await openAll(["a"], ["observer"]);
  await upgraded(client); // with both transports, cut the upgraded WebSocket
  const id = client.socket.id;
  await call(client, "drop");
  await until(() => client.disconnects.length === 1, "disconnect after the cut");
  const reason = client.disconnects[0];
  check(
    reason === "transport close" || reason === "transport error",
    `client reason after the cut: ${reason}`,
  );
  check(client.socket.active, "the client gave up instead of reconnecting");
  await connected(client, 2);
  checkSame(await call(client, "echo", "back"), ["back"], "echo after reconnecting");
  const serverSide = await serverReason(observer, id);
  check(serverSide === "transport close", `server reason ${serverSide}`);
  await checkTransport(client);
  return { clientReason: reason, serverReason: serverSide, engines: client.engines.length };
}

export async function pingTimeout() {
  const [client, observer] = await openAll(["a"], ["observer"]);
  await upgraded(client);
  const engine = client.socket.io.engine;
  check(typeof engine._sendPacket === "function", "engine.io-client internals changed");
  const id = client.socket.id;
  const sendPacket = engine._sendPacket.bind(engine);
  let pongsDropped = 0;
  engine._sendPacket = (type, ...rest) => {
    if (type === "pong") {
      pongsDropped += 1;
      return;
    }
    sendPacket(type, ...rest);
  };
  const started = Date.now();
  await until(() => client.disconnects.length === 1, "the server's ping timeout", 4000);
  const elapsed = Date.now() - started;
  const reason = client.disconnects[0];
  // "ping timeout" on the client would mean its own timer fired: the server did not close.
  check(reason === "transport close" || reason === "transport error", `client reason ${reason}`);
  check(pongsDropped >= 1, "no ping from the server");
  const serverSide = await serverReason(observer, id);
  check(serverSide === "ping timeout", `server reason ${serverSide}`);
  await connected(client, 2); // and the client comes back
  return { clientReason: reason, serverReason: serverSide, elapsedMs: elapsed };
}

async function recoveryScenario(toOwnId) {
  const [client, observer] = await openAll(["rec"], ["observer"]);
  const rec = room("rec");
  await call(client, "join", rec);
  await call(observer, "join", rec);
  // A first broadcast gives the client an offset to come back with.
  await call(client, "bcast", { to: [rec], event: "tick", args: [{ n: 0 }] });
  await waitEvents(client, "tick", 1);
  await upgraded(client); // with both transports, cut the upgraded WebSocket
  const id = client.socket.id;
  const offset = client.socket._lastOffset;
  check(typeof offset === "string", `no offset after a broadcast: ${offset}`);
  const count = 5;
  const event = toOwnId ? "direct" : "tick";
  client.socket.emit("drop_and_broadcast", { room: rec, count, event, direct: toOwnId });
  await until(() => client.disconnects.length === 1, "disconnect after the cut");
  progress.clientReason = client.disconnects[0];
  // Sent while disconnected: buffered by the client, delivered after the reconnection.
  client.socket.emit("echo_event", "buffered", 1);
  await connected(client, 2);
  progress.reconnected = client.connects[1];
  check(client.socket.recovered === true, "socket.recovered is not true after the reconnection");
  check(client.socket.id === id, `id changed: ${id} -> ${client.socket.id}`);
  const me = await call1(client, "whoami");
  check(me.recovered === true, "the server's socket.recovered is not true");
  check(me.id === id, `server id ${me.id}`);
  checkSame(me.rooms, [id, RUN_ROOM, rec].sort(), "rooms after recovery");
  checkSame(me.data, { name: "rec" }, "socket.data after recovery");
  await waitEvents(client, "buffered", 1);
  await markerRound(observer, [client, observer]);
  const missed = received(client, event);
  const got = missed.map((a) => a[0].n);
  if (toOwnId) {
    // Node keeps the socket's own room in the session: what was sent to it is delivered.
    checkSame(got, [1, 2, 3, 4, 5], "events sent to the socket's own room while it was away");
  } else {
    checkSame(got, [0, 1, 2, 3, 4, 5], "missed ticks, once each, in order");
    // The observer saw them live, with the same offsets.
    const live = received(observer, "tick");
    checkSame(
      live.map((a) => a[1]),
      missed.map((a) => a[1]),
      "offsets of the recovered events",
    );
  }
  missed.forEach((a, i) => checkOffset(a, `missed event ${i}`));
  // And broadcasts keep flowing after the recovery.
  await call(observer, "bcast", { to: [rec], event, args: [{ n: 99 }] });
  await until(() => received(client, event).some((a) => a[0].n === 99), "broadcast after");
  await checkTransport(client);
  return {
    clientReason: client.disconnects[0],
    recovered: client.socket.recovered,
    missed: got,
  };
}

export function recovery() {
  return recoveryScenario(false);
}

export function recoveryDirect() {
  return recoveryScenario(true);
}
