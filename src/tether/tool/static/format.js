// What the testing tool reads from its fields and how it shows values: no DOM here.

/** Whether `value` is binary as socket.io-client gives it or takes it. */
export function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) || (typeof Blob !== "undefined" && value instanceof Blob);
}

function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Hex of `bytes` (a Uint8Array), `limit` bytes at most, two digits a byte, space-separated. */
export function hexOf(bytes, limit = Infinity) {
  const shown = bytes.subarray(0, Math.min(bytes.length, limit));
  return Array.from(shown, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** The size and the first 32 bytes in hex of a binary value. */
export function binaryPreview(value) {
  if (typeof Blob !== "undefined" && value instanceof Blob) return `<binary ${value.size} bytes>`;
  const bytes = bytesOf(value);
  const more = bytes.length > 32 ? " …" : "";
  const hex = hexOf(bytes, 32);
  return `<binary ${bytes.length} bytes${hex ? ": " + hex : ""}${more}>`;
}

/** Bytes from hex digits ("de ad be ef", "0xdeadbeef", "de:ad:be:ef"); throws on bad input. */
export function hexToBytes(text) {
  const digits = text.replace(/0x/gi, "").replace(/[\s:,-]/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) {
    throw new Error("hex: an even number of digits 0-9 a-f is expected");
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Arguments of an emit: a JSON array is the list of arguments, another JSON value is the one
 * argument, an empty field is none. Throws with a readable message on bad JSON. */
export function parseArgs(text) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`arguments: ${error.message}`);
  }
  return Array.isArray(value) ? value : [value];
}

/** A JSON object from a field (empty: undefined); `what` names the field in errors. */
export function parseObject(text, what) {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`${what}: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${what}: a JSON object is expected`);
  }
  return value;
}

/** The query: a JSON object or `a=1&b=2`; undefined when empty. */
export function parseQuery(text) {
  const trimmed = text.trim().replace(/^\?/, "");
  if (!trimmed) return undefined;
  if (trimmed.startsWith("{")) return parseObject(trimmed, "query");
  return Object.fromEntries(new URLSearchParams(trimmed));
}

/** Namespaces separated by spaces or commas, each starting with "/"; ["/"] when empty. */
export function parseNamespaces(text) {
  const names = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((name) => (name.startsWith("/") ? name : "/" + name));
  return names.length ? [...new Set(names)] : ["/"];
}

/** A value made of JSON only (binary as {"$binary": {size, hex}}): what "copy as JSON" copies. */
export function toPlain(value, seen = new Set()) {
  if (isBinary(value)) {
    if (typeof Blob !== "undefined" && value instanceof Blob) return { $binary: { size: value.size } };
    const bytes = bytesOf(value);
    return { $binary: { size: bytes.length, hex: hexOf(bytes).replace(/ /g, "") } };
  }
  if (value === undefined) return null;
  if (value === null || typeof value !== "object") {
    return typeof value === "number" && !Number.isFinite(value) ? null : value;
  }
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  const result = Array.isArray(value)
    ? value.map((item) => toPlain(item, seen))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlain(item, seen)]));
  seen.delete(value);
  return result;
}

/** Pretty-printed JSON of `value`, binary shown as its size and a hex preview. */
export function pretty(value, indent = "") {
  if (isBinary(value)) return binaryPreview(value);
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? String(value);
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((item) => inner + pretty(item, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  const lines = entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${pretty(item, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** The arguments of an event, one pretty-printed value after another. */
export function prettyArgs(args) {
  return args.map((arg) => pretty(arg)).join("\n");
}

/** HH:MM:SS.mmm of a Date, local time. */
export function timeOf(date) {
  const two = (n) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}
