// A TypeScript client of the chat demo, typed by its contract: `tether typegen
// tether.demo.chat:create_app -o events.d.ts` writes events.d.ts next to this file.
import { io, Socket } from "socket.io-client";
import type { ChannelMessage, ClientToServerEvents, ServerToClientEvents } from "./events";

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const url = process.argv[2] ?? "http://127.0.0.1:8000";

async function enter(nick: string): Promise<ChatSocket> {
  const socket: ChatSocket = io(url, { transports: ["websocket"] });
  const hello = await socket.emitWithAck("hello", { nick });
  if ("error" in hello) throw new Error(hello.error);
  const joined = await socket.emitWithAck("join", "general");
  if ("error" in joined) throw new Error(joined.error);
  console.log(`${hello.nick} joined #${joined.channel} (${joined.history.length} messages)`);
  return socket;
}

async function main(): Promise<void> {
  const ada = await enter("ada");
  const bob = await enter("bob");
  const received = new Promise<ChannelMessage>((resolve) => bob.on("message", resolve));
  const sent = await ada.emitWithAck("message", { channel: "general", text: "hello, bob" });
  if ("error" in sent) throw new Error(sent.error);
  const message = await received;
  console.log(`bob got "${message.text}" from ${message.from} (id ${message.id})`);
  ada.emit("typing", { channel: "general", typing: true });
  const older = await bob.emitWithAck("history", { channel: "general", limit: 10 });
  if ("error" in older) throw new Error(older.error);
  console.log(`history: ${older.messages.length} message(s), more: ${older.more}`);
  ada.disconnect();
  bob.disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
