// The benchmark contract on Node's socket.io 4.8 (the reference), written as a user would.
import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: "*" } });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("fanout", (opts, ack) => {
    const payload = "x".repeat(opts.size);
    for (let seq = 0; seq < opts.count; seq++) io.to(opts.room).emit("tick", seq, payload);
    if (typeof ack === "function") ack();
  });
});

httpServer.listen(Number(process.env.PORT || 3000), "127.0.0.1", () => {
  console.log("READY");
});
