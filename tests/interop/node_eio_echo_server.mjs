// Reference Engine.IO v4 echo server (npm `engine.io`), the one the interop tests are
// calibrated against. Same contract as tests/conformance/eio_server.py:
// 127.0.0.1:$PORT (default 3000), path /engine.io/, ping 300 ms / 200 ms, max payload 1e6,
// CORS *, every message echoed (text as text, binary as binary); prints READY when listening.
//
//   PORT=3000 node tests/interop/node_eio_echo_server.mjs

import { createServer } from "node:http";
import { Server } from "engine.io";

const httpServer = createServer();
const engine = new Server({
  path: "/engine.io/",
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
});
engine.attach(httpServer);
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    engine.close();
    httpServer.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  process.stdout.write("READY\n");
});
