// Drives the official `socket.io-client` against the Socket.IO app of tests/interop/sio_app.py
// (tether) or tests/interop/sio_node_server.mjs (Node's `socket.io`, the reference).
//
//   node sio_client.mjs --url http://127.0.0.1:3000 --scenario echo \
//       [--transports polling,websocket] [--timeout 10000]
//
// Options can also come from the environment: SIO_URL, SIO_TRANSPORTS, SIO_SCENARIO,
// SIO_TIMEOUT_MS. One JSON object is printed per line; the last one is the verdict:
//   {"result": "pass" | "fail", "scenario": ..., "error": ..., ...}
// Exit status: 0 pass, 1 fail, 2 timeout, 3 bad usage.
//
// Every socket is a new connection (`forceNew`) unless a scenario multiplexes namespaces on
// one Manager on purpose. With one transport configured, every connection must stay on it;
// with "polling,websocket", every connection still open at the end must have opened on polling
// and upgraded to WebSocket. Each run has its own id: its sockets join the room `run:<id>` and
// its room names start with it, so runs never see each other's broadcasts.
//
// Scenarios: handshake, echo, echo-lone-surrogate, binary, server-ack, ack-disconnect,
// namespaces, dynamic-namespace, rooms, broadcast-acks, ordering, volatile, disconnect-server,
// disconnect-server-close, disconnect-client, disconnect-room, drop-reconnect, ping-timeout,
// recovery, recovery-direct. The server's events are listed in sio_app.py.

import { Failure, args, finish, progress } from "./sio_driver.mjs";
import {
  disconnectClient,
  disconnectRoom,
  disconnectServer,
  disconnectServerClose,
  dropReconnect,
  pingTimeout,
  recovery,
  recoveryDirect,
} from "./sio_scenarios_lifecycle.mjs";
import {
  ackDisconnect,
  binary,
  echo,
  echoLoneSurrogate,
  handshake,
  ordering,
  serverAck,
  volatile,
} from "./sio_scenarios_messages.mjs";
import { broadcastAcks, dynamicNamespace, namespaces, rooms } from "./sio_scenarios_rooms.mjs";

const SCENARIOS = {
  handshake,
  echo,
  "echo-lone-surrogate": echoLoneSurrogate,
  binary,
  "server-ack": serverAck,
  "ack-disconnect": ackDisconnect,
  namespaces,
  "dynamic-namespace": dynamicNamespace,
  rooms,
  "broadcast-acks": broadcastAcks,
  ordering,
  volatile,
  "disconnect-server": disconnectServer,
  "disconnect-server-close": disconnectServerClose,
  "disconnect-client": disconnectClient,
  "disconnect-room": disconnectRoom,
  "drop-reconnect": dropReconnect,
  "ping-timeout": pingTimeout,
  recovery,
  "recovery-direct": recoveryDirect,
};

if (!args.url || !SCENARIOS[args.scenario]) {
  process.stderr.write(
    `usage: sio_client.mjs --url URL --scenario {${Object.keys(SCENARIOS).join(",")}} ` +
      "[--transports polling,websocket] [--timeout ms]\n",
  );
  process.exit(3);
}

const TIMEOUT_MS = Number(args.timeout);

const deadline = setTimeout(() => {
  finish(2, { result: "fail", error: `timeout after ${TIMEOUT_MS} ms`, ...progress });
}, TIMEOUT_MS);

try {
  const details = await SCENARIOS[args.scenario]();
  clearTimeout(deadline);
  finish(0, { result: "pass", ...details });
} catch (err) {
  clearTimeout(deadline);
  const message = err instanceof Failure ? err.message : String(err?.stack ?? err);
  finish(1, { result: "fail", error: message, ...progress });
}
