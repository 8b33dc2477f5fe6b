// The Socket.IO testing tool: one Manager (one connection), a Socket per namespace, every event
// logged, emits with acks. Everything shown goes through textContent: nothing received is ever
// parsed as HTML.

import {
  hexToBytes,
  parseArgs,
  parseNamespaces,
  parseObject,
  parseQuery,
  pretty,
  prettyArgs,
  timeOf,
  toPlain,
} from "./format.js";

/** Entries shown in the log; the oldest go first. */
const MAX_LOG = 1000;
/** Entries held while the log is paused; the oldest are dropped. */
const MAX_HELD = 1000;
/** Emits remembered in the history. */
const MAX_HISTORY = 50;
const KEYS = {
  profiles: "tether-tool:profiles",
  last: "tether-tool:last",
  history: "tether-tool:history",
};
const FIELDS = ["url", "path", "namespaces", "transports", "auth", "query", "headers"];

const $ = (id) => document.getElementById(id);

/** An element with properties (dataset merged) and children (strings become text). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const store = {
  get(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // storage full or disabled: the tool works without it
    }
  },
};

// -- the connection -------------------------------------------------------------------------

const state = {
  manager: null,
  origin: null, // of the server
  sockets: new Map(), // namespace -> Socket
  errors: new Map(), // namespace -> the last connect_error
  pending: new Map(), // Socket -> emits waiting for onAnyOutgoing, in order
  transport: null,
  attempts: 0,
  reconnecting: false,
};

function readForm() {
  const form = {};
  for (const field of FIELDS) form[field] = $(field).value;
  form.reconnection = $("reconnection").checked;
  return form;
}

function writeForm(form) {
  for (const field of FIELDS) {
    if (typeof form[field] !== "string") continue;
    const input = $(field);
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === form[field])) continue;
    input.value = form[field];
  }
  if (typeof form.reconnection === "boolean") $("reconnection").checked = form.reconnection;
}

/** What io.Manager and its sockets are given, from the form; throws on a bad field. */
function connectionOptions(form) {
  const raw = form.url.trim() || location.origin;
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new Error("URL: not a URL");
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) {
    throw new Error("URL: http://, https://, ws:// or wss:// is expected");
  }
  let namespaces = parseNamespaces(form.namespaces);
  const named = url.pathname.replace(/\/+$/, "");
  if (named && ["", "/"].includes(form.namespaces.trim())) namespaces = [named];
  const query = { ...Object.fromEntries(url.searchParams), ...parseQuery(form.query) };
  const headers = parseObject(form.headers, "extra headers");
  const auth = parseObject(form.auth, "auth");
  const options = {
    path: form.path.trim() || "/socket.io/",
    transports: form.transports.split(","),
    reconnection: form.reconnection,
  };
  if (Object.keys(query).length) options.query = query;
  if (headers) {
    options.extraHeaders = headers;
    options.transportOptions = { polling: { extraHeaders: headers } };
  }
  return { uri: `${url.protocol}//${url.host}`, namespaces, options, auth };
}

function connect(event) {
  event.preventDefault();
  $("connect-error").textContent = "";
  let settings;
  try {
    settings = connectionOptions(readForm());
  } catch (error) {
    $("connect-error").textContent = error.message;
    return;
  }
  disconnect();
  store.set(KEYS.last, readForm());
  const manager = new window.io.Manager(settings.uri, settings.options);
  state.manager = manager;
  state.origin = new URL(settings.uri.replace(/^ws/, "http")).origin;
  state.attempts = 0;
  state.reconnecting = false;
  manager.on("open", () => {
    const engine = manager.engine;
    state.transport = engine.transport.name;
    engine.on("upgrade", (transport) => {
      state.transport = transport.name;
      record({ direction: "system", ns: "", event: "upgrade", args: [transport.name] });
      render();
    });
    render();
  });
  manager.on("close", (reason) => {
    state.transport = null;
    render();
    return reason;
  });
  manager.on("reconnect_attempt", (attempt) => {
    state.attempts = attempt;
    state.reconnecting = true;
    record({ direction: "system", ns: "", event: "reconnect_attempt", args: [attempt] });
    render();
  });
  manager.on("reconnect", (attempt) => {
    state.reconnecting = false;
    record({ direction: "system", ns: "", event: "reconnect", args: [attempt] });
    render();
  });
  manager.on("reconnect_failed", () => {
    state.reconnecting = false;
    record({ direction: "system", ns: "", event: "reconnect_failed", args: [] });
    render();
  });
  for (const ns of settings.namespaces) {
    const socket = manager.socket(ns, settings.auth ? { auth: settings.auth } : {});
    state.sockets.set(ns, socket);
    state.pending.set(socket, []);
    follow(socket, ns);
  }
  const choice = $("emit-namespace").value;
  $("emit-namespace").replaceChildren(...settings.namespaces.map((ns) => el("option", { value: ns }, ns)));
  if (settings.namespaces.includes(choice)) $("emit-namespace").value = choice;
  render();
}

function follow(socket, ns) {
  socket.on("connect", () => {
    state.errors.delete(ns);
    record({ direction: "system", ns, event: "connect", args: [{ id: socket.id, transport: state.transport }] });
    render();
  });
  socket.on("disconnect", (reason, details) => {
    const args = details === undefined ? [reason] : [reason, details];
    record({ direction: "system", ns, event: "disconnect", args });
    render();
  });
  socket.on("connect_error", (error) => {
    state.errors.set(ns, error);
    const detail = error.data !== undefined ? error.data : error.description;
    record({
      direction: "system",
      ns,
      event: "connect_error",
      args: detail === undefined ? [error.message] : [error.message, detail],
    });
    render();
  });
  socket.onAny((event, ...args) => record({ direction: "in", ns, event, args }));
  socket.onAnyOutgoing((event, ...args) => {
    const emit = state.pending.get(socket)?.shift() ?? null;
    record({ direction: "out", ns, event, args, emit });
  });
}

function disconnect() {
  const { manager } = state;
  if (!manager) return;
  manager.reconnection(false);
  for (const socket of state.sockets.values()) socket.disconnect();
  for (const socket of state.sockets.values()) {
    socket.off();
    socket.offAny();
    socket.offAnyOutgoing();
  }
  manager.off();
  state.manager = null;
  state.sockets.clear();
  state.errors.clear();
  state.pending.clear();
  state.transport = null;
  state.reconnecting = false;
  render();
}

function overallState() {
  if (!state.manager) return "disconnected";
  const sockets = [...state.sockets.values()];
  if (sockets.some((socket) => socket.connected)) return "connected";
  if (state.reconnecting) return "reconnecting";
  if (state.errors.size) return "error";
  return "connecting";
}

function render() {
  const now = overallState();
  $("badge").dataset.state = now;
  $("state").textContent = now;
  $("transport").textContent = state.transport ?? "–";
  const sockets = [...state.sockets.values()];
  const shown = sockets.find((socket) => socket.connected) ?? sockets[0];
  $("socket-id").textContent = shown?.id ?? "–";
  $("attempts").textContent = String(state.attempts);
  $("disconnect").disabled = !state.manager;

  const [ns, error] = [...state.errors.entries()].at(-1) ?? [];
  $("error").hidden = !error;
  if (error) {
    $("error-namespace").textContent = ns;
    $("error-message").textContent = error.message;
    const detail = error.data !== undefined ? error.data : error.description;
    $("error-data").textContent = detail === undefined ? "" : pretty(detail);
  }
  // A transport that fails across origins is most often the server's CORS settings.
  const crossOrigin = error?.type === "TransportError" && state.origin !== location.origin;
  $("error-hint").hidden = !crossOrigin;
  if (crossOrigin) {
    $("error-hint").textContent =
      `If the server is up, it may refuse this page's origin: allow ${location.origin} ` +
      `(tether: cors_origins=["${location.origin}"]; Node: cors: { origin: "${location.origin}" }), ` +
      "or serve this page from the server itself (tether.tool.mount(io)).";
  }
  $("sockets").replaceChildren(
    ...[...state.sockets.entries()].map(([name, socket]) => {
      const status = socket.connected ? "connected" : state.errors.has(name) ? "error" : "not connected";
      return el(
        "li",
        { dataset: { ns: name, testid: "socket" } },
        el("span", { className: "nsname" }, name),
        el("span", { className: "nstate", dataset: { state: status } }, status),
        el("span", { className: "sid" }, socket.id ?? ""),
      );
    }),
  );
}

// -- emitting -------------------------------------------------------------------------------

async function emit(event) {
  event.preventDefault();
  const error = $("emit-error");
  error.textContent = "";
  const name = $("emit-event").value.trim();
  const ns = $("emit-namespace").value;
  const socket = state.sockets.get(ns);
  if (!name) {
    error.textContent = "an event name is needed";
    return;
  }
  if (!socket) {
    error.textContent = "not connected: connect first";
    return;
  }
  const text = $("emit-args").value;
  const hex = $("emit-hex").value;
  let args;
  try {
    args = parseArgs(text);
    if (hex.trim()) args.push(hexToBytes(hex));
    const file = $("emit-file").files[0];
    if (file) args.push(new Uint8Array(await file.arrayBuffer()));
  } catch (problem) {
    error.textContent = problem.message;
    return;
  }
  const ack = $("emit-ack").checked;
  const timeout = Math.max(0, Number($("emit-timeout").value) || 0);
  const pending = { ack, timeout, started: performance.now(), result: null, node: null };
  const queue = state.pending.get(socket);
  queue.push(pending);
  try {
    if (!ack) {
      socket.emit(name, ...args);
    } else if (timeout > 0) {
      socket.timeout(timeout).emit(name, ...args, (err, ...answer) => acked(pending, err, answer));
    } else {
      socket.emit(name, ...args, (...answer) => acked(pending, null, answer));
    }
  } catch (problem) {
    queue.splice(queue.indexOf(pending), 1);
    error.textContent = problem.message;
    return;
  }
  if (!socket.connected) error.textContent = `${ns} is not connected: the event is sent once it connects`;
  remember({ ns, event: name, args: text, hex, ack, timeout });
}

function acked(pending, err, answer) {
  const ms = Math.round(performance.now() - pending.started);
  pending.result = err ? { error: err.message, ms } : { args: answer, ms };
  if (pending.node) fillAck(pending.node, pending);
}

function fillAck(node, pending) {
  const { result } = pending;
  if (!result) {
    node.dataset.state = "pending";
    node.replaceChildren(
      pending.timeout > 0 ? `waiting for the ack (timeout ${pending.timeout} ms)…` : "waiting for the ack…",
    );
  } else if (result.error) {
    node.dataset.state = "error";
    node.replaceChildren(`no ack: ${result.error} (${result.ms} ms)`);
  } else {
    node.dataset.state = "ok";
    node.replaceChildren(
      `ack after ${result.ms} ms`,
      el("pre", { dataset: { testid: "ack-args" } }, result.args.length ? prettyArgs(result.args) : "(no arguments)"),
    );
  }
}

// -- the history of emits -------------------------------------------------------------------

function remember(item) {
  const same = (other) => JSON.stringify(other) === JSON.stringify(item);
  const history = [item, ...store.get(KEYS.history, []).filter((other) => !same(other))];
  store.set(KEYS.history, history.slice(0, MAX_HISTORY));
  showHistory();
}

function showHistory() {
  const history = store.get(KEYS.history, []);
  $("history").replaceChildren(
    ...history.map((item) => {
      const label = `${item.ns} ${item.event} ${item.args.trim()}${item.hex ? " +hex" : ""}${item.ack ? " (ack)" : ""}`;
      const button = el("button", { type: "button", title: label, dataset: { testid: "history-item" } }, label);
      button.addEventListener("click", () => {
        $("emit-event").value = item.event ?? "";
        $("emit-args").value = item.args ?? "";
        $("emit-hex").value = item.hex ?? "";
        $("emit-ack").checked = Boolean(item.ack);
        $("emit-timeout").value = String(item.timeout ?? 5000);
        if ([...$("emit-namespace").options].some((o) => o.value === item.ns)) $("emit-namespace").value = item.ns;
      });
      return el("li", {}, button);
    }),
  );
}

// -- saved connection profiles --------------------------------------------------------------

function showProfiles(selected = "") {
  const names = Object.keys(store.get(KEYS.profiles, {})).sort();
  $("profiles").replaceChildren(
    el("option", { value: "" }, "(choose one)"),
    ...names.map((name) => el("option", { value: name }, name)),
  );
  $("profiles").value = names.includes(selected) ? selected : "";
}

function saveProfile() {
  const name = $("profile-name").value.trim() || $("profiles").value;
  if (!name) {
    $("profile-name").focus();
    return;
  }
  const profiles = store.get(KEYS.profiles, {});
  profiles[name] = readForm();
  store.set(KEYS.profiles, profiles);
  $("profile-name").value = "";
  showProfiles(name);
}

function loadProfile() {
  const profile = store.get(KEYS.profiles, {})[$("profiles").value];
  if (profile) writeForm(profile);
}

function deleteProfile() {
  const profiles = store.get(KEYS.profiles, {});
  delete profiles[$("profiles").value];
  store.set(KEYS.profiles, profiles);
  showProfiles();
}

// -- the log --------------------------------------------------------------------------------

const log = { shown: [], held: [], dropped: 0, paused: false };

function record(item) {
  item.time = new Date();
  if (log.paused) {
    log.held.push(item);
    if (log.held.length > MAX_HELD) {
      log.held.shift();
      log.dropped++;
    }
    showHeld();
    return;
  }
  show(item);
}

function matches(item) {
  const filter = $("filter").value.trim().toLowerCase();
  return !filter || item.event.toLowerCase().includes(filter);
}

function show(item) {
  const arrow = { in: "↓", out: "↑", system: "•" }[item.direction];
  const node = el(
    "li",
    { className: "entry", dataset: { testid: "entry", direction: item.direction, event: item.event, ns: item.ns } },
    el(
      "div",
      { className: "head" },
      el("time", { dateTime: item.time.toISOString() }, timeOf(item.time)),
      el("span", { className: "direction", title: item.direction }, arrow),
      el("span", { className: "ns" }, item.ns || "(connection)"),
      el("span", { className: "event", dataset: { testid: "event" } }, item.event),
    ),
    el("pre", { className: "args", dataset: { testid: "args" } }, prettyArgs(item.args)),
  );
  if (item.emit?.ack) {
    item.emit.node = el("div", { className: "ack", dataset: { testid: "ack" } });
    fillAck(item.emit.node, item.emit);
    node.append(item.emit.node);
  }
  node.hidden = !matches(item);
  item.node = node;
  $("log").prepend(node);
  log.shown.push(item);
  if (log.shown.length > MAX_LOG) log.shown.shift().node.remove();
}

function showHeld() {
  const held = log.paused ? `${log.held.length} held` : "";
  $("buffered").textContent = log.dropped ? `${held}, ${log.dropped} dropped` : held;
}

function togglePause() {
  log.paused = !log.paused;
  $("pause").setAttribute("aria-pressed", String(log.paused));
  $("pause").textContent = log.paused ? "Resume" : "Pause";
  if (!log.paused) {
    for (const item of log.held.splice(0)) show(item);
    log.dropped = 0;
  }
  showHeld();
}

function clearLog() {
  log.shown = [];
  log.held = [];
  log.dropped = 0;
  $("log").replaceChildren();
  showHeld();
}

function applyFilter() {
  for (const item of log.shown) item.node.hidden = !matches(item);
}

/** The entries shown (those the filter keeps), oldest first, as JSON. */
function logAsJson() {
  const entries = log.shown.filter(matches).map((item) => {
    const entry = {
      time: item.time.toISOString(),
      direction: item.direction,
      namespace: item.ns || null,
      event: item.event,
      args: toPlain(item.args),
    };
    if (item.emit?.ack) entry.ack = item.emit.result ? toPlain(item.emit.result) : null;
    return entry;
  });
  return JSON.stringify(entries, null, 2);
}

async function copyLog() {
  const text = logAsJson();
  const count = log.shown.filter(matches).length;
  const fallback = $("copy-fallback");
  try {
    await navigator.clipboard.writeText(text);
    fallback.hidden = true;
    $("copy-status").textContent = `copied ${count} events`;
  } catch {
    // no clipboard API (a page not served from localhost nor over HTTPS): select the text
    fallback.value = text;
    fallback.hidden = false;
    fallback.focus();
    fallback.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    $("copy-status").textContent = copied ? `copied ${count} events` : "press Ctrl+C to copy the selected JSON";
  }
}

// -- start ----------------------------------------------------------------------------------

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error(`could not load ${src}`)));
    document.head.append(script);
  });
}

async function start() {
  let config = { bundle: "/socket.io/socket.io.min.js", url: null };
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) config = { ...config, ...(await response.json()) };
  } catch {
    // served without tether's config: the defaults
  }
  try {
    await loadScript(config.bundle);
    if (!window.io?.Manager) throw new Error(`${config.bundle} is not the socket.io-client bundle`);
  } catch (error) {
    $("fatal").hidden = false;
    $("fatal").textContent = `The socket.io-client bundle is missing (${error.message}): install it with \`tether bundle install\`.`;
    return;
  }
  writeForm({ url: config.url ?? location.origin });
  writeForm(store.get(KEYS.last, {}));
  showProfiles();
  showHistory();
  $("connect-form").addEventListener("submit", connect);
  $("disconnect").addEventListener("click", disconnect);
  $("emit-form").addEventListener("submit", emit);
  $("emit-form").addEventListener("input", () => {
    $("emit-error").textContent = "";
  });
  $("profile-save").addEventListener("click", saveProfile);
  $("profile-load").addEventListener("click", loadProfile);
  $("profiles").addEventListener("change", loadProfile);
  $("profile-delete").addEventListener("click", deleteProfile);
  $("history-clear").addEventListener("click", () => {
    store.set(KEYS.history, []);
    showHistory();
  });
  $("filter").addEventListener("input", applyFilter);
  $("pause").addEventListener("click", togglePause);
  $("clear").addEventListener("click", clearLog);
  $("copy").addEventListener("click", copyLog);
  render();
  document.body.dataset.ready = "true";
}

start();
