// The Node reference on several processes: a `cluster` primary forks $WORKERS workers, each
// running the contract of node_socketio.mjs (socket.io 4.8) on the one shared port; the
// primary accepts and hands connections out round-robin (cluster.SCHED_RR, Linux's default).
// No sticky session: a WebSocket-only client (transport=websocket from the first request, as
// the generator's clients are) stays on one connection, hence one worker. Long-polling would
// need @socket.io/sticky, so bench/run.py runs this server for the WebSocket-only scenarios
// only. Prints READY once every worker listens; SIGTERM stops the workers, then the primary.
import cluster from "node:cluster";

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const count = Number(process.env.WORKERS || 2);
  let listening = 0;
  let alive = count;
  let stopping = false;
  cluster.on("listening", () => {
    if (++listening === count) console.log("READY");
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stopping = true;
      for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
      process.exitCode = 1;
    }
    if (--alive === 0) process.exit();
  });
  process.on("SIGTERM", () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
  });
  for (let i = 0; i < count; i++) cluster.fork();
} else {
  await import("./node_socketio.mjs");
}
