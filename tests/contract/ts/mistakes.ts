// Mistakes the generated contract of tests/contract/app.py must catch at compile time
// (tests/contract/test_typescript.py asserts each error, by line).
import { io, Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "./events";

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io("http://127.0.0.1:3000");

socket.emit("draw", { kind: "triangle", points: [] }, () => {}); // MISTAKE: wrong payload type
socket.emit("draw", { kind: "circle", points: [] }, (receipt: string) => {}); // MISTAKE: wrong ack type
socket.emit("erase", 1); // MISTAKE: unknown event
socket.on("tick", (tick: { n: string }) => {}); // MISTAKE: wrong received type
socket.on("question", (text, ack) => ack("yes")); // MISTAKE: wrong answer to the server
