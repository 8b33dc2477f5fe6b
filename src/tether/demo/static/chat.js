// tether chat: the page. Plain JavaScript on the official socket.io-client bundle.
(() => {
  "use strict";
  const params = new URLSearchParams(location.search);
  const options = {};
  if (params.get("transports")) options.transports = params.get("transports").split(",");
  const socket = io(options);
  window.chatSocket = socket; // for the curious (and the browser tests)

  const $ = (selector) => document.querySelector(selector);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const state = {
    nick: null,
    channels: [],
    joined: new Set(),
    logs: new Map(),      // "#name" or "@nick" -> [{kind, ...}]
    seen: new Set(),      // message ids already shown
    unread: new Map(),
    members: [],
    view: null,           // "#general" or "@ada"
    typing: new Map(),    // "#name" -> Map(nick -> timer)
    more: new Map(),      // "#name" or "@nick" -> whether the server has older messages
    fetched: new Set(),   // "@nick" whose last messages came from the server
  };

  // -- connection badge -----------------------------------------------------------------------
  const badge = $("#conn");
  function setBadge(text, kind) { badge.textContent = text; badge.className = "badge " + kind; }
  function showTransport() {
    const name = socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : "";
    if (socket.connected) setBadge(name, name);
  }
  socket.on("connect", () => {
    showTransport();
    socket.io.engine.once("upgrade", showTransport);
    if (state.nick && !socket.recovered) restore();
  });
  socket.on("disconnect", (reason) => {
    setBadge(reason === "io client disconnect" ? "disconnected" : "reconnecting…", "reconnecting");
  });
  socket.io.on("reconnect_attempt", () => setBadge("reconnecting…", "reconnecting"));

  // -- errors ---------------------------------------------------------------------------------
  let errorTimer = null;
  function showError(text) {
    const box = $("#error");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function call(event, payload) {
    return new Promise((resolve) => {
      socket.timeout(8000).emit(event, payload, (err, answer) => {
        resolve(err ? { error: "The server did not answer in time." } : answer);
      });
    });
  }

  // -- rendering --------------------------------------------------------------------------------
  const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  function logOf(key) {
    if (!state.logs.has(key)) state.logs.set(key, []);
    return state.logs.get(key);
  }

  function renderEntry(entry) {
    if (entry.kind === "notice") return el("div", "notice", entry.text);
    const row = el("div", "msg");
    if (entry.id) row.dataset.id = entry.id;
    if (entry.from === state.nick) row.classList.add("mine");
    if (entry.pending) row.classList.add("pending");
    else if (entry.from === state.nick) row.classList.add("sent");
    row.append(el("span", "time", time(entry.ts)), el("span", "from", entry.from),
      el("span", "text", entry.text));
    const ack = el("span", "ack", entry.from === state.nick ? (entry.pending ? "…" : "✓") : "");
    if (entry.from === state.nick) ack.title = entry.pending ? "sending" : "delivered to the server";
    row.append(ack);
    return row;
  }

  function renderLog(keepScroll) {
    const log = $("#log");
    const fromBottom = log.scrollHeight - log.scrollTop;
    const rows = (state.view ? logOf(state.view) : []).map(renderEntry);
    if (state.view && state.more.get(state.view)) {
      const key = state.view;
      const button = el("button", "", "load older messages");
      button.id = "older";
      button.type = "button";
      button.onclick = () => loadOlder(key, button);
      rows.unshift(button);
    }
    log.replaceChildren(...rows);
    log.scrollTop = keepScroll ? log.scrollHeight - fromBottom : log.scrollHeight;
  }

  // "load older": the page of messages before the oldest one shown
  async function loadOlder(key, button) {
    const payload = key.startsWith("#") ? { channel: key.slice(1) } : { dm: key.slice(1) };
    const oldest = logOf(key).find((e) => e.kind === "message" && e.id && !e.pending);
    if (oldest) payload.before = oldest.id;
    if (button) button.disabled = true;
    const answer = await call("history", payload);
    if (answer.error) {
      if (button) button.disabled = false;
      else state.fetched.delete(key);  // the first page of a DM: asked again next time
      return showError(answer.error);
    }
    const older = answer.messages.filter((m) => !state.seen.has(m.id));
    for (const m of older) state.seen.add(m.id);
    logOf(key).unshift(...older.map((m) => ({ kind: "message", ...m })));
    state.more.set(key, answer.more);
    if (key === state.view) renderLog(true);
  }

  function add(key, entry) {
    if (entry.id) {
      if (state.seen.has(entry.id)) return;
      state.seen.add(entry.id);
    }
    logOf(key).push(entry);
    if (key === state.view) {
      const log = $("#log");
      log.append(renderEntry(entry));
      log.scrollTop = log.scrollHeight;
    } else if (entry.kind !== "notice") {
      state.unread.set(key, (state.unread.get(key) || 0) + 1);
      renderSidebar();
    }
  }

  function renderSidebar() {
    const channels = $("#channels");
    channels.replaceChildren(...state.channels.map((name) => {
      const key = "#" + name;
      const button = el("button", "", "# " + name);
      button.type = "button";
      button.dataset.channel = name;
      if (state.joined.has(name)) button.classList.add("joined");
      if (state.view === key) button.classList.add("current");
      const count = state.unread.get(key);
      if (count) button.append(el("span", "unread", String(count)));
      button.onclick = () => openChannel(name);
      const li = el("li"); li.append(button); return li;
    }));
    const members = $("#members");
    members.replaceChildren(...state.members.map((m) => {
      const key = "@" + m.nick;
      const button = el("button", "");
      button.type = "button";
      button.dataset.nick = m.nick;
      button.dataset.status = m.status;
      button.title = m.nick + " is " + m.status + (m.nick === state.nick ? "" : ": click to send a direct message");
      button.append(el("span", "dot " + m.status), el("span", "nick", m.nick));
      if (m.nick === state.nick) button.append(el("span", "you", "(you)"));
      if (m.status !== "online") button.append(el("span", "state", m.status));
      if (state.view === key) button.classList.add("current");
      const count = state.unread.get(key);
      if (count) button.append(el("span", "unread", String(count)));
      button.onclick = () => { if (m.nick !== state.nick) openView(key); };
      const li = el("li"); li.append(button); return li;
    }));
  }

  function renderTyping() {
    const typers = state.view && state.typing.get(state.view);
    const names = typers ? [...typers.keys()] : [];
    $("#typing").textContent = names.length === 0 ? "" :
      names.length === 1 ? names[0] + " is typing…" : names.join(" and ") + " are typing…";
  }

  function openView(key) {
    state.view = key;
    state.unread.delete(key);
    $("#title").textContent = key.startsWith("#") ? "# " + key.slice(1) : "Direct messages with " + key.slice(1);
    $("#leave").hidden = !key.startsWith("#");
    renderSidebar();
    renderLog();
    renderTyping();
    $("#text").focus();
    if (key.startsWith("@") && !state.fetched.has(key)) {  // the DMs kept by the server
      state.fetched.add(key);
      loadOlder(key, null);
    }
  }

  // -- channels ---------------------------------------------------------------------------------
  function receiveHistory(name, answer) {
    const key = "#" + name;
    if (state.more.has(key)) {  // joined again after a reconnection: what was missed, after
      for (const entry of answer.history) add(key, { kind: "message", ...entry });
    } else {  // the first join: the history goes before the notice of this join
      const older = answer.history.filter((m) => !state.seen.has(m.id));
      for (const m of older) state.seen.add(m.id);
      logOf(key).unshift(...older.map((m) => ({ kind: "message", ...m })));
      state.more.set(key, answer.more);
    }
    if (state.view === key) renderLog();
  }

  async function openChannel(name) {
    if (!state.joined.has(name)) {
      const answer = await call("join", name);
      if (answer.error) return showError(answer.error);
      state.joined.add(name);
      receiveHistory(name, answer);
    }
    openView("#" + name);
  }

  $("#create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#new-channel");
    const answer = await call("create", input.value.trim().toLowerCase());
    if (answer.error) return showError(answer.error);
    input.value = "";
    state.joined.add(answer.channel);
    receiveHistory(answer.channel, answer);
    if (!state.channels.includes(answer.channel)) state.channels = [...state.channels, answer.channel].sort();
    openView("#" + answer.channel);
  });

  $("#leave").addEventListener("click", async () => {
    const name = state.view.slice(1);
    const answer = await call("leave", name);
    if (answer.error) return showError(answer.error);
    state.joined.delete(name);
    const other = [...state.joined][0];
    if (other) openView("#" + other); else { state.view = null; renderSidebar(); renderLog(); $("#title").textContent = "Pick a channel"; }
  });

  // -- login and restore after a reconnection the server could not recover ------------------------
  async function hello(nick) {
    const answer = await call("hello", { nick });
    if (answer.error) return answer;
    state.nick = answer.nick;
    state.channels = answer.channels;
    $("#me").textContent = answer.nick;
    $("#status").disabled = false;
    $("#text").disabled = false;
    $("#send-button").disabled = false;
    return answer;
  }

  async function restore() {
    const answer = await hello(state.nick);
    if (answer.error) return showError(answer.error);
    for (const name of [...state.joined]) {
      const joined = await call("join", name);
      if (joined.error) { state.joined.delete(name); continue; }
      receiveHistory(name, joined);
    }
    if ($("#status").value !== "online") call("presence", { status: $("#status").value });
    renderSidebar();
  }

  $("#login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await hello($("#nick").value);
    if (answer.error) { $("#login-error").textContent = answer.error; return; }
    $("#login-screen").hidden = true;
    await openChannel(state.channels.includes("general") ? "general" : state.channels[0]);
  });

  // -- sending ------------------------------------------------------------------------------------
  let typingSent = false;
  let typingTimer = null;
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent && state.view && state.view.startsWith("#")) {
      socket.emit("typing", { channel: state.view.slice(1), typing: false });
    }
    typingSent = false;
  }
  $("#text").addEventListener("input", () => {
    if (!state.view || !state.view.startsWith("#")) return;
    if (!typingSent) {
      socket.emit("typing", { channel: state.view.slice(1), typing: true });
      typingSent = true;
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });

  let pendingIds = 0;
  $("#send").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#text");
    const text = input.value;
    const key = state.view;
    if (!key) return showError("Pick a channel first.");
    stopTyping();
    input.value = "";
    const entry = { kind: "message", from: state.nick, text: text.trim(), ts: Date.now(), pending: true };
    const tempId = "pending-" + (++pendingIds);
    const isDm = key.startsWith("@");
    const answer = isDm
      ? (entry.to = key.slice(1), add(key, { ...entry, id: tempId }), await call("dm", { to: key.slice(1), text }))
      : (add(key, { ...entry, id: tempId }), await call("message", { channel: key.slice(1), text }));
    const log = logOf(key);
    const index = log.findIndex((e) => e.id === tempId);
    if (answer.error) {
      if (index >= 0) log.splice(index, 1);
      if (key === state.view) renderLog();
      if (!input.value) input.value = text; // give the text back to fix it
      return showError(answer.error);
    }
    state.seen.add(answer.message.id);
    if (index >= 0) log[index] = { kind: "message", ...answer.message };
    if (key === state.view) renderLog();
  });

  $("#status").addEventListener("change", async (event) => {
    const answer = await call("presence", { status: event.target.value });
    if (answer.error) showError(answer.error);
  });

  // -- events from the server ----------------------------------------------------------------------
  socket.on("message", (entry) => {
    add("#" + entry.channel, { kind: "message", ...entry });
    const typers = state.typing.get("#" + entry.channel);
    if (typers && typers.delete(entry.from)) renderTyping();
  });
  socket.on("dm", (entry) => add("@" + entry.from, { kind: "message", ...entry }));
  socket.on("notice", (entry) => add("#" + entry.channel, { kind: "notice", ...entry }));
  socket.on("channels", (names) => { state.channels = names; renderSidebar(); });
  socket.on("members", (members) => { state.members = members; renderSidebar(); });
  socket.on("limited", ({ error }) => showError(error));
  socket.on("typing", ({ channel, nick, typing }) => {
    const key = "#" + channel;
    if (!state.typing.has(key)) state.typing.set(key, new Map());
    const typers = state.typing.get(key);
    clearTimeout(typers.get(nick));
    if (typing) typers.set(nick, setTimeout(() => { typers.delete(nick); renderTyping(); }, 6000));
    else typers.delete(nick);
    renderTyping();
  });
})();
