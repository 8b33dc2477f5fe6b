// A client of tests/contract/app.py typed by its generated contract (events.d.ts, written
// next to this file by tests/contract/test_typescript.py): it must compile with tsc --strict.
import { io, Socket } from "socket.io-client";
import type {
  AdminRoomClientToServerEvents,
  AdminRoomServerToClientEvents,
  ClientToServerEvents,
  Receipt,
  ServerToClientEvents,
  Shape,
} from "./events";

const url = process.argv[2] ?? "http://127.0.0.1:3000";
const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url);

const shape: Shape = { kind: "circle", points: [{ x: 1, y: 2 }, { x: 3, y: 4, label: "b" }] };
socket.emit("draw", shape, (receipt: Receipt) => {
  console.log(receipt.id, receipt.note ?? "");
});
socket.emit("upload", "a.bin", new Uint8Array([1, 2, 3]), true, (size, name) => {
  console.log(size + 1, name.toUpperCase());
});
socket.emit("log", "one", "two");
socket.emit("fire", null);
socket.emit("fire", 3, () => {});
socket.emit("legacy", 1, "anything", { at: "all" });

socket.on("tick", (tick) => console.log(tick.n * 2, tick.at[1].length));
socket.on("question", (text, ack) => ack(text.length > 3));
socket.on("ping-all", (ack) => ack());
socket.on("blob", (data, name) => console.log(name, data.byteLength));

const admin: Socket<AdminRoomServerToClientEvents, AdminRoomClientToServerEvents> = io(
  `${url}/admin-room`,
);
admin.on("alert", (level, colors) => {
  const high: boolean = level === "high";
  console.log(high, colors.includes("green"));
});

async function main(): Promise<void> {
  const ok: boolean = await admin.emitWithAck("kick", "bob", undefined);
  const receipt: Receipt = await socket.timeout(1000).emitWithAck("draw", shape);
  console.log(ok, receipt.id);
}
void main();
