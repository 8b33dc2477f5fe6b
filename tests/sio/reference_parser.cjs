// Runs socket.io-parser (the copy the npm `socket.io` package in tests/interop uses) on cases
// read as JSON from stdin, for tests/sio/test_reference_parser.py.
//
// Input:  {"decode": [[message, ...], ...], "encode": [packet, ...]}
//         a message is {"t": text} or {"b": base64}; binary values in packets are {"$bin": base64}
// Output: {"version": "...", "decode": [{"packets": [...], "error": msg | null}, ...],
//          "encode": [[{"t": text} | {"b": base64}, ...] | {"error": msg}, ...]}
"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");

const interop = path.resolve(__dirname, "..", "interop");
const fromSocketIo = createRequire(
  createRequire(path.join(interop, "package.json")).resolve("socket.io"),
);
const parser = fromSocketIo("socket.io-parser");
const fs = require("node:fs");

function packageVersion(entry) {
  // The package does not export its package.json: walk up from its entry point.
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      const { name, version } = JSON.parse(fs.readFileSync(manifest, "utf8"));
      if (name === "socket.io-parser") return version;
    }
  }
  return "unknown";
}

const version = packageVersion(fromSocketIo.resolve("socket.io-parser"));

// Decoded data for the JSON output; what lies deeper than 100 levels is cut (Python's json
// module could not read it back).
function toWire(value, depth = 0) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (depth > 100 && value !== null && typeof value === "object") return { $deep: true };
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1));
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = toWire(value[key], depth + 1);
    return out;
  }
  return value;
}

function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === "object") {
    if (typeof value.$bin === "string") return Buffer.from(value.$bin, "base64");
    const out = {};
    for (const key of Object.keys(value)) out[key] = fromWire(value[key]);
    return out;
  }
  return value;
}

function decodeCase(messages) {
  const decoder = new parser.Decoder();
  const packets = [];
  decoder.on("decoded", (packet) => {
    const out = { type: packet.type, nsp: packet.nsp };
    if (packet.data !== undefined) out.data = toWire(packet.data);
    if (packet.id !== undefined) out.id = packet.id;
    packets.push(out);
  });
  for (const message of messages) {
    try {
      decoder.add("t" in message ? message.t : Buffer.from(message.b, "base64"));
    } catch (error) {
      return { packets, error: error.message };
    }
  }
  return { packets, error: null };
}

function encodeCase(packet) {
  const encoder = new parser.Encoder();
  try {
    const input = { type: packet.type, nsp: packet.nsp };
    if (packet.data !== undefined) input.data = fromWire(packet.data);
    if (packet.id !== undefined) input.id = packet.id;
    return encoder
      .encode(input)
      .map((part) => (typeof part === "string" ? { t: part } : { b: part.toString("base64") }));
  } catch (error) {
    return { error: error.message };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  process.stdout.write(
    JSON.stringify({
      version,
      decode: request.decode.map(decodeCase),
      encode: request.encode.map(encodeCase),
    }),
  );
});
