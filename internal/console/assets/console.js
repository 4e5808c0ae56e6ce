// The simplerpc console's page: lists the server's methods from its
// description, builds a form for a method's parameters from their schemas,
// calls the method through the console's /api/call and shows the outcome.
// A streaming method is opened through /api/stream (stream.js). Values
// are carried as JSON text, never as JavaScript numbers, so that 64-bit
// integers keep every digit.
"use strict";

const state = { desc: null, method: null, root: null, item: null, history: [], ids: 0, stop: null };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

const newId = () => "f" + ++state.ids;

// ---- Schemas -----------------------------------------------------------------

function resolve(schema) {
  let s = schema || {};
  for (let i = 0; s.$ref && i < 32; i++) {
    const name = s.$ref.replace("#/$defs/", "");
    const def = (state.desc.$defs || {})[name];
    if (!def) break;
    s = Object.assign({}, def, { nullable: s.nullable || def.nullable });
  }
  return s;
}

function typeName(schema) {
  const s = resolve(schema);
  if (s.contentEncoding === "base64") return "bytes";
  if (s.format === "date-time") return "time";
  if (s.type === "array") return "array of " + typeName(s.items);
  if (s.type === "object" && s.additionalProperties) return "map of " + typeName(s.additionalProperties);
  return s.type || "any JSON";
}

// A field is {el, get}: get returns the value as JSON text, or throws an
// Error naming what is wrong (and marks the input).
function field(schema, label, path, goType) {
  const s = resolve(schema);
  if (!goType && schema && schema.$ref) goType = (s.nullable ? "*" : "") + schema.$ref.replace("#/$defs/", "");
  if (s.nullable) return nullableField(s, label, path, goType);
  return plainField(s, label, path, goType);
}

function labelFor(id, label, schema, goType) {
  return el("label", { for: id }, label + " ", el("span", { class: "type", text: goType || typeName(schema) }));
}

function bad(input, msg) {
  input.classList.add("invalid");
  input.setAttribute("aria-invalid", "true");
  input.focus();
  throw new Error(msg);
}

function ok(input) {
  input.classList.remove("invalid");
  input.removeAttribute("aria-invalid");
}

function plainField(s, label, path, goType) {
  const id = newId();
  if (s.type === "object" && s.properties) return structField(s, label, path, goType);
  if (s.type === "object") return mapField(s, label, path, goType);
  if (s.type === "array") return arrayField(s, label, path, goType);
  if (s.type === "boolean") {
    const input = el("input", { type: "checkbox", id, "data-path": path });
    return {
      el: el("div", { class: "field" }, el("label", { for: id }, input, " " + label + " ", el("span", { class: "type", text: goType || "boolean" }))),
      get: () => (input.checked ? "true" : "false"),
      set: (v) => { input.checked = v === true; },
    };
  }
  if (s.contentEncoding === "base64") return bytesField(s, label, path, goType, id);
  let input, get;
  if (s.type === "integer" || s.type === "number") {
    input = el("input", { type: "text", id, inputmode: s.type === "integer" ? "numeric" : "decimal", "data-path": path, value: "0" });
    const re = s.type === "integer" ? /^-?\d+$/ : /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
    get = () => {
      const v = input.value.trim();
      if (!re.test(v)) bad(input, label + ": " + (s.type === "integer" ? "an integer" : "a number") + " is needed");
      ok(input);
      return v;
    };
  } else if (s.type === "string") {
    const time = s.format === "date-time";
    input = el("input", { type: "text", id, "data-path": path, placeholder: time ? "2006-01-02T15:04:05Z" : "" });
    if (time) input.value = new Date().toISOString();
    get = () => {
      if (time && isNaN(Date.parse(input.value))) bad(input, label + ": a time such as 2006-01-02T15:04:05Z is needed");
      ok(input);
      return JSON.stringify(input.value);
    };
  } else {
    input = el("textarea", { id, rows: 2, "data-path": path, spellcheck: "false", placeholder: "any JSON value" });
    get = () => {
      const v = input.value.trim();
      if (v === "") return "null";
      try { JSON.parse(v); } catch (e) { bad(input, label + ": not valid JSON (" + e.message + ")"); }
      ok(input);
      return v;
    };
  }
  return {
    el: el("div", { class: "field" }, labelFor(id, label, s, goType), input),
    get,
    set: (v) => { input.value = typeof v === "string" && s.type === "string" ? v : JSON.stringify(v); },
  };
}

function bytesField(s, label, path, goType, id) {
  const input = el("textarea", { id, rows: 2, "data-path": path, spellcheck: "false" });
  const encId = newId();
  const enc = el("select", { id: encId, "aria-label": label + ": how the bytes are written" },
    el("option", { value: "text", text: "as text (UTF-8)" }), el("option", { value: "base64", text: "as base64" }));
  return {
    el: el("div", { class: "field" }, labelFor(id, label, s, goType || "[]byte"), input, el("div", { class: "row" }, enc)),
    get: () => {
      if (enc.value === "base64") {
        const v = input.value.trim();
        try { atob(v); } catch (e) { bad(input, label + ": not valid base64"); }
        ok(input);
        return JSON.stringify(v);
      }
      const bytes = new TextEncoder().encode(input.value);
      let bin = "";
      for (const b of bytes) bin += String.fromCharCode(b);
      return JSON.stringify(btoa(bin));
    },
    set: (v) => { enc.value = "base64"; input.value = v || ""; },
  };
}

function nullableField(s, label, path, goType) {
  const inner = Object.assign({}, s, { nullable: false });
  const id = newId();
  const isNull = el("input", { type: "checkbox", id, checked: true, "data-path": path + ".null" });
  const box = el("div");
  let sub = null;
  const sync = () => {
    if (!isNull.checked && !sub) {
      sub = plainField(inner, label, path, goType);
      box.append(sub.el);
    }
    box.hidden = isNull.checked;
  };
  isNull.addEventListener("change", sync);
  sync();
  return {
    el: el("div", { class: "field" }, el("label", { for: id }, isNull, " " + label + " is null ", el("span", { class: "type", text: goType || "pointer to " + typeName(inner) })), box),
    get: () => (isNull.checked ? "null" : sub.get()),
    // The struct's fields, for sending them by position, once it is not null.
    get fields() { return isNull.checked || !sub ? undefined : sub.fields; },
    set: (v) => { isNull.checked = v === null; sync(); if (v !== null) sub.set(v); },
  };
}

function structField(s, label, path, goType) {
  const names = s.propertyOrder || Object.keys(s.properties);
  const subs = names.map((n) => [n, field(s.properties[n], n, path + "." + n)]);
  const fs = el("fieldset", {}, el("legend", { text: label + (goType ? " (" + goType + ")" : "") }), ...subs.map(([, f]) => f.el));
  return {
    el: fs,
    fields: subs,
    get: () => "{" + subs.map(([n, f]) => JSON.stringify(n) + ":" + f.get()).join(",") + "}",
    set: (v) => { for (const [n, f] of subs) if (v && n in v) f.set(v[n]); },
  };
}

function arrayField(s, label, path, goType) {
  const list = el("div");
  const items = [];
  const add = (v) => {
    const f = field(s.items, label + "[" + items.length + "]", path + "." + items.length);
    const entry = { f };
    const remove = el("button", { type: "button", text: "Remove", "aria-label": "Remove " + label + " item",
      onclick: () => { items.splice(items.indexOf(entry), 1); row.remove(); } });
    const row = el("div", { class: "row" }, el("div", { class: "grow" }, f.el), remove);
    items.push(entry);
    list.append(row);
    if (v !== undefined) f.set(v);
  };
  const fs = el("fieldset", {}, el("legend", { text: label + " (" + (goType || typeName(s)) + ")" }), list,
    el("button", { type: "button", text: "Add item", "data-path": path + ".add", onclick: () => add() }));
  return {
    el: fs,
    add,
    get: () => "[" + items.map((e) => e.f.get()).join(",") + "]",
    getItems: () => items.map((e) => e.f.get()),
    set: (v) => { items.splice(0); list.replaceChildren(); for (const x of v || []) add(x); },
  };
}

function mapField(s, label, path, goType) {
  const list = el("div");
  const rows = [];
  const add = (k, v) => {
    const kid = newId();
    const key = el("input", { type: "text", id: kid, "data-path": path + ".key" + rows.length, value: k || "" });
    const f = field(s.additionalProperties, "value", path + ".value" + rows.length);
    const entry = { key, f };
    const remove = el("button", { type: "button", text: "Remove", "aria-label": "Remove " + label + " entry",
      onclick: () => { rows.splice(rows.indexOf(entry), 1); row.remove(); } });
    const row = el("div", { class: "row" }, el("div", { class: "field" }, el("label", { for: kid, text: "key" }), key),
      el("div", { class: "grow" }, f.el), remove);
    rows.push(entry);
    list.append(row);
    if (v !== undefined) f.set(v);
  };
  const fs = el("fieldset", {}, el("legend", { text: label + " (" + (goType || typeName(s)) + ")" }), list,
    el("button", { type: "button", text: "Add entry", "data-path": path + ".add", onclick: () => add() }));
  return {
    el: fs,
    get: () => "{" + rows.map((r) => JSON.stringify(r.key.value) + ":" + r.f.get()).join(",") + "}",
    set: (v) => { rows.splice(0); list.replaceChildren(); for (const [k, x] of Object.entries(v || {})) add(k, x); },
  };
}

// ---- The method list -----------------------------------------------------------

const kindNames = { server: "server stream", client: "client stream", bidi: "bidi stream" };

function methodButton(m) {
  return el("li", {}, el("button", { type: "button", "data-method": m.name, onclick: () => select(m) },
    m.name.includes(".") ? m.name.split(".").slice(1).join(".") : m.name,
    m.stream ? el("span", { class: "kind", "data-kind": m.stream.kind, text: kindNames[m.stream.kind] || "stream" }) : null,
    el("span", { class: "sig", text: m.signature })));
}

function renderMethods() {
  const nav = $("methods");
  nav.replaceChildren();
  const d = state.desc;
  for (const svc of d.services) {
    nav.append(el("h2", { text: svc.name }), el("ul", {}, ...svc.methods.map(methodButton)));
  }
  if (d.functions.length) nav.append(el("h2", { text: "Functions" }), el("ul", {}, ...d.functions.map(methodButton)));
  if (!d.services.length && !d.functions.length) nav.append(el("p", { text: "The server exposes no methods." }));
}

function findMethod(name) {
  for (const svc of state.desc.services) for (const m of svc.methods) if (m.name === name) return m;
  return state.desc.functions.find((m) => m.name === name);
}

// ---- The form ------------------------------------------------------------------

function select(m) {
  stopStream();
  state.method = m;
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-current", b.dataset.method === m.name ? "true" : "false");
  $("intro").hidden = true;
  $("method").hidden = false;
  $("outcome").hidden = true;
  $("method-name").textContent = m.name;
  $("method-signature").textContent = m.signature;
  $("args-mode").hidden = !m.structArg;
  $("use-raw").checked = false;
  $("raw-params").value = "[]";
  const params = $("params");
  params.replaceChildren();
  const fields = m.params.map((p, i) => {
    const last = m.variadic && i === m.params.length - 1;
    const f = field(p.schema, last ? "arg" + i + " (variadic)" : "arg" + i, "p" + i, p.go);
    params.append(f.el);
    return { f, variadic: last };
  });
  if (!m.params.length) params.append(el("p", { class: "hint", text: "This method takes no parameters." }));
  state.root = fields;
  const receives = m.stream && m.stream.receives;
  $("stream-in").hidden = !receives;
  $("items").value = "";
  $("item-form").replaceChildren();
  state.item = null;
  if (receives) {
    state.item = field(receives.schema, "item", "item", receives.go);
    $("item-form").append(state.item.el);
  }
  $("call").textContent = m.stream ? "Open stream" : "Call";
  const first = params.querySelector("input, textarea, select, button");
  (first || $("call")).focus();
}

// params returns the call's parameters as an array of JSON texts.
function params() {
  if ($("use-raw").checked) {
    let v;
    try { v = JSON.parse($("raw-params").value); } catch (e) { bad($("raw-params"), "Parameters: not valid JSON (" + e.message + ")"); }
    if (!Array.isArray(v)) bad($("raw-params"), "Parameters: a JSON array is needed");
    ok($("raw-params"));
    return splitArray($("raw-params").value.trim());
  }
  const m = state.method;
  const out = [];
  for (const { f, variadic } of state.root) {
    if (variadic) out.push(...f.getItems());
    else out.push(f.get());
  }
  if (m.structArg && document.querySelector('input[name="mode"]:checked').value === "positional") {
    const f = state.root[0].f;
    return f.fields ? f.fields.map(([, sub]) => sub.get()) : out;
  }
  return out;
}

// splitArray returns the elements of a JSON array's text as texts, so
// that numbers keep every digit.
function splitArray(text) {
  const out = [];
  let depth = 0, start = -1, inStr = false, esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === "\\") esc = true;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') { inStr = true; if (depth === 1 && start < 0) start = i; continue; }
    if (c === "[" || c === "{") {
      if (depth === 1 && start < 0) start = i;
      depth++;
      continue;
    }
    if ((c === "]" || c === "}") && depth > 1) { depth--; continue; }
    if (depth === 1 && (c === "," || c === "]")) {
      if (start >= 0) out.push(text.slice(start, i).trim());
      start = -1;
      if (c === "]") depth--;
      continue;
    }
    if (depth === 1 && start < 0 && !/\s/.test(c)) start = i;
  }
  return out;
}

function metadataRow(k, v) {
  const kid = newId(), vid = newId();
  const row = el("div", { class: "row meta-row" },
    el("div", { class: "field" }, el("label", { for: kid, text: "name" }), el("input", { type: "text", id: kid, class: "meta-key", value: k || "", placeholder: "authorization" })),
    el("div", { class: "field grow" }, el("label", { for: vid, text: "value" }), el("input", { type: "text", id: vid, class: "meta-value", value: v || "" })),
    el("button", { type: "button", text: "Remove", "aria-label": "Remove this metadata", onclick: () => row.remove() }));
  $("metadata").append(row);
  return row;
}

function metadata() {
  const md = {};
  for (const row of document.querySelectorAll(".meta-row")) {
    const k = row.querySelector(".meta-key").value.trim().toLowerCase();
    if (k) md[k] = row.querySelector(".meta-value").value;
  }
  return md;
}

// ---- Calling -----------------------------------------------------------------------

async function call(ev) {
  if (ev) ev.preventDefault();
  if (state.stop) return; // a stream is being shown: Stop it first
  const m = state.method;
  let ps;
  try {
    ps = params();
  } catch (e) {
    showError({ code: "invalid form", message: e.message }, 0);
    return;
  }
  const timeout = parseInt($("timeout").value, 10) || 0;
  // The body is assembled from JSON texts, so large integers travel intact.
  const body = '{"method":' + JSON.stringify(m.name) + ',"params":[' + ps.join(",") + '],"metadata":' +
    JSON.stringify(metadata()) + ',"timeoutMs":' + timeout;
  if (m.stream) {
    let items = [];
    try {
      if (m.stream.receives) items = streamItems();
    } catch (e) {
      showError({ code: "invalid form", message: e.message }, 0);
      return;
    }
    await callStream(m, body + ',"items":[' + items.join(",") + "]}", "[" + ps.join(",") + "]", items);
    return;
  }
  await callUnary(m, body + "}", ps);
}

async function callUnary(m, body, ps) {
  $("call").disabled = true;
  $("status").textContent = "calling…";
  $("status").className = "";
  $("outcome").hidden = false;
  let out;
  try {
    const resp = await fetch("api/call", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const text = await resp.text();
    try { out = JSON.parse(text); } catch (e) { out = { error: { code: "local", message: text || resp.statusText } }; }
  } catch (e) {
    out = { error: { code: "local", message: "the console did not answer: " + e.message } };
  } finally {
    $("call").disabled = false;
  }
  if (out.error) showError(out.error, out.durationMs);
  else showResult(out, out.durationMs);
  record(m.name, "[" + ps.join(",") + "]", out);
}

function showResult(out, ms, stream) {
  if (!stream) $("stream-out").hidden = true;
  $("outcome-title").textContent = stream ? "Stream" : "Result";
  $("status").textContent = "OK in " + fmtMs(ms);
  $("status").className = "ok";
  // A stream whose method has no results after it shows its items alone.
  $("result").hidden = stream && !out.pretty;
  $("result").textContent = out.pretty || "(no results)";
  $("error").hidden = true;
}

function showError(e, ms, stream) {
  if (!stream) $("stream-out").hidden = true;
  $("outcome").hidden = false;
  $("outcome-title").textContent = stream ? "Stream failed" : "Error";
  $("status").textContent = "Failed" + (ms ? " in " + fmtMs(ms) : "");
  $("status").className = "bad";
  $("result").hidden = true;
  $("error").hidden = false;
  $("error-code").textContent = e.code;
  $("error-message").textContent = e.message;
  const parts = [];
  if (e.remoteType) parts.push("remote type " + e.remoteType);
  if (e.name) parts.push("registered as " + e.name);
  $("error-type").textContent = parts.join(", ");
  $("stack-box").hidden = !e.stack;
  $("stack").textContent = e.stack || "";
}

const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + " ms";

function record(method, paramsText, out, items) {
  const sent = items ? items.reduce((n, s) => n + s.length, 0) : 0;
  const entry = { method, paramsText, out, items: sent <= maxSentChars ? items : null, at: new Date() };
  state.history.unshift(entry);
  state.history.splice(100);
  $("history-empty").hidden = true;
  let status = out.error ? out.error.code : "ok";
  if (out.stream) status += ", " + out.stream.items + (out.stream.items === 1 ? " item" : " items");
  const li = el("li", {},
    el("button", { type: "button", onclick: () => replay(entry), "aria-label": "Show " + method + " call of " + entry.at.toLocaleTimeString() },
      method + " — " + status + " ", el("span", { class: "took", text: "(" + fmtMs(out.durationMs || 0) + ", " + entry.at.toLocaleTimeString() + ")" })));
  const list = $("history");
  list.prepend(li);
  while (list.children.length > 100) list.lastChild.remove();
}

function replay(entry) {
  const m = findMethod(entry.method);
  if (!m) return;
  select(m);
  $("raw").open = true;
  $("use-raw").checked = true;
  $("raw-params").value = entry.paramsText;
  if (entry.items) $("items").value = entry.items.join("\n");
  const st = entry.out.stream;
  if (st) {
    const v = streamView();
    v.items = st.items; v.sent = st.sent; v.firstMs = entry.out.firstMs || 0;
    streamCount(v, entry.out.durationMs, true);
    $("items-kept").textContent = "The history keeps a stream's counts and the items it sent (up to " +
      (maxSentChars / 1024) + " KiB of them), not the items received.";
  }
  if (entry.out.error) showError(entry.out.error, entry.out.durationMs, !!st);
  else { $("outcome").hidden = false; showResult(entry.out, entry.out.durationMs, !!st); }
}

// ---- Start ---------------------------------------------------------------------------

async function start() {
  $("call-form").addEventListener("submit", call);
  $("call-form").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) call(ev);
  });
  $("stop").addEventListener("click", () => { if (state.stop) state.stop.abort(); });
  $("add-item").addEventListener("click", addItem);
  $("add-metadata").addEventListener("click", () => metadataRow().querySelector("input").focus());
  $("form-to-raw").addEventListener("click", () => {
    try {
      $("raw-params").value = "[" + params().join(", ") + "]";
      $("use-raw").checked = true;
    } catch (e) {
      showError({ code: "invalid form", message: e.message }, 0);
    }
  });
  let info;
  try {
    const resp = await fetch("api/describe");
    info = await resp.json();
    if (info.error) throw new Error(info.error.code + ": " + info.error.message);
  } catch (e) {
    $("target").textContent = "cannot describe the server: " + e.message;
    $("methods").replaceChildren(el("p", { text: "The server did not describe itself (is introspection off?)." }));
    return;
  }
  state.desc = info.description;
  $("target").textContent = info.target;
  renderMethods();
  fetch("api/health").then((r) => r.json()).then((h) => {
    if (h.status) $("target").textContent = info.target + " — " + h.status;
  }).catch(() => {});
}

start();
