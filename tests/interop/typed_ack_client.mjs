// The official socket.io-client against a tether server with typed handlers
// (tests/typed/test_dispatch.py): prints, one JSON line each, the acks of a valid "chat", an
// invalid one and a "boom" whose handler raises, then exits (status 0).
//
//   node typed_ack_client.mjs http://127.0.0.1:PORT

import { io } from "socket.io-client";

const socket = io(process.argv[2], { transports: ["websocket"], forceNew: true });
const timer = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

socket.on("connect", async () => {
  const asks = [
    ["chat", { text: "hi", author: { name: "ann" } }],
    ["chat", { text: "hi" }],
    ["boom", 1],
  ];
  for (const [event, arg] of asks) {
    console.log(JSON.stringify(await socket.timeout(5000).emitWithAck(event, arg)));
  }
  clearTimeout(timer);
  socket.disconnect();
});
socket.on("connect_error", (err) => {
  console.error(err.message);
  process.exit(1);
});
