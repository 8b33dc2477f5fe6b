// socket.io-msgpack-parser 3.x (the npm package) as a filter, for tests/sio/test_msgpack_parser.py
// to compare tether's msgpack parser with it byte for byte, both ways.
//
//   echo '{"encode": [packet, ...], "decode": [hex, ...]}' | node msgpack_codec.mjs
//
// Prints {"encoded": [hex, ...], "decoded": [packet or {"error": message}, ...]}. In the JSON,
// {"$bin": hex} stands for a Buffer, {"$ab": hex} for an ArrayBuffer, {"$undefined": true}
// for undefined and {"$date": ms} for a Date, both ways.

import parser from "socket.io-msgpack-parser";

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    if ("$bin" in value) return Buffer.from(value.$bin, "hex");
    if ("$ab" in value) {
      const buffer = Buffer.from(value.$ab, "hex");
      return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length);
    }
    if ("$undefined" in value) return undefined;
    if ("$date" in value) return new Date(value.$date);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

function plain(value) {
  if (value === undefined) return { $undefined: true };
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $ab: Buffer.from(value).toString("hex") };
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { encode = [], decode = [] } = JSON.parse(input);
const encoder = new parser.Encoder();
const encoded = encode.map((packet) => {
  const parts = encoder.encode(revive(packet));
  return parts.map((part) => Buffer.from(part).toString("hex"));
});
const decoded = decode.map((hex) => {
  const decoder = new parser.Decoder();
  let result = null;
  decoder.on("decoded", (packet) => (result = plain(packet)));
  try {
    decoder.add(Buffer.from(hex, "hex"));
  } catch (err) {
    return { error: err.message };
  }
  return result;
});
process.stdout.write(JSON.stringify({ encoded, decoded }));
