// Mistakes the chat demo's contract must catch at compile time (asserted by line in
// tests/contract/test_typescript.py; docs/typed-contract.md names them).
import { io, Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "./events";

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io("http://127.0.0.1:8000");

async function main(): Promise<void> {
  await socket.emitWithAck("message", { channel: "general" }); // MISTAKE: no text
  await socket.emitWithAck("join", 1); // MISTAKE: a number for a channel
  socket.emit("jion", "general", () => {}); // MISTAKE: unknown event
  const hello = await socket.emitWithAck("hello", { nick: "ada" });
  console.log(hello.nick); // MISTAKE: the answer may be a Failure
  socket.emit("presence", { status: "busy" }, () => {}); // MISTAKE: not a status
}
void main();
