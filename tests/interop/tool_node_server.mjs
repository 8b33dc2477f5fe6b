// A Node `socket.io` 4.8 server for the testing tool's browser test (tests/browser/
// test_tool_browser.py): 127.0.0.1:$PORT, CORS "*" (the page comes from `tether tool` on another
// port); "echo" answers its arguments in the ack, "shout" broadcasts them as "broadcast";
// "/private" refuses a socket without auth.token (message and data). Prints READY when listening.
//
//   PORT=3000 node tests/interop/tool_node_server.mjs

import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: "*" } });

function setup(nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("welcome", { id: socket.id, server: "node", transport: socket.conn.transport.name });
    socket.on("echo", (...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      if (ack) ack(...args);
    });
    socket.on("shout", (...args) => nsp.emit("broadcast", ...args));
  });
}

setup(io.of("/"));
const restricted = io.of("/private");
restricted.use((socket, next) => {
  if (socket.handshake.auth.token) return next();
  const err = new Error("not authorized");
  err.data = { reason: "no token" };
  next(err);
});
setup(restricted);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
}

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  process.stdout.write("READY\n");
});
