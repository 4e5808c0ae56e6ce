// The simplerpc console's page: streams. A streaming method is opened
// through the console's /api/stream, whose answer — NDJSON: an opening
// line, a line per item, an end line — is read as it arrives: the items
// are shown live, the page keeping the last maxItems of them, and Stop
// aborts the request, which cancels the stream on the server. Loaded
// before console.js, whose helpers ($, el, field, showError…) it uses.
"use strict";

// What the page keeps of a stream: the last maxItems items, each cut at
// maxItemChars characters; the history keeps the items a stream sent, up
// to maxSentChars characters of them in all.
const maxItems = 1000, maxItemChars = 2000, maxSentChars = 64 * 1024;

// streamItems returns the items to send, one JSON text a line.
function streamItems() {
  const input = $("items");
  const out = [];
  input.value.split("\n").forEach((l, i) => {
    const v = l.trim();
    if (v === "") return;
    try { JSON.parse(v); } catch (e) { bad(input, "Items: line " + (i + 1) + " is not valid JSON (" + e.message + ")"); }
    out.push(v);
  });
  ok(input);
  return out;
}

function addItem() {
  let v;
  try { v = state.item.get(); } catch (e) { showError({ code: "invalid form", message: e.message }, 0); return; }
  const t = $("items");
  t.value = t.value.replace(/\s*$/, "") + (t.value.trim() ? "\n" : "") + v + "\n";
}

// The stream being shown: its items and counts.
function streamView() {
  $("outcome").hidden = false;
  $("outcome-title").textContent = "Stream";
  $("stream-out").hidden = false;
  $("items-out").replaceChildren();
  $("items-kept").textContent = "The page keeps the last " + maxItems.toLocaleString("en") + " items; longer items are cut at " +
    maxItemChars.toLocaleString("en") + " characters.";
  $("result").hidden = true;
  $("error").hidden = true;
  return { items: 0, firstMs: 0 };
}

function streamCount(v, ms, done) {
  let t = v.items + (v.items === 1 ? " item" : " items");
  if (v.items) t += ", the first after " + fmtMs(v.firstMs);
  if (v.items > 1 && ms > 0) t += ", " + Math.round(v.items / (ms / 1000)) + " a second";
  t += (done ? " in " : " so far, ") + fmtMs(ms);
  if (v.sent !== undefined) t += "; " + v.sent + " sent";
  if (v.items > maxItems) t += " (showing the last " + maxItems + ")";
  $("stream-count").textContent = t;
}

function showItems(v, lines) {
  const list = $("items-out");
  const frag = document.createDocumentFragment();
  for (const l of lines) {
    const text = l.item.length > maxItemChars ? l.item.slice(0, maxItemChars) + "… (" + l.item.length + " characters)" : l.item;
    frag.append(el("li", { value: l.n }, text, el("span", { class: "at", text: "+" + fmtMs(l.ms) })));
  }
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(frag);
  while (list.children.length > maxItems) list.firstChild.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}

// callStream opens the stream through /api/stream and shows its items as
// they arrive, until it ends or Stop is pressed. Picking another method
// stops it too (stopStream): it goes to the history, but its end is no
// longer shown.
async function callStream(m, body, paramsText, items) {
  const v = streamView();
  const ctl = new AbortController();
  ctl.shown = true;
  state.stop = ctl;
  $("call").disabled = true;
  $("stop").hidden = false;
  $("stop").focus(); // the Call button is disabled while the stream runs
  $("status").textContent = "streaming…";
  $("status").className = "";
  const started = performance.now();
  let end = null;
  try {
    const resp = await fetch("api/stream", { method: "POST", headers: { "Content-Type": "application/json" }, body, signal: ctl.signal });
    if (!resp.body || !(resp.headers.get("Content-Type") || "").startsWith("application/x-ndjson")) {
      const text = await resp.text();
      end = { error: { code: "local", message: text || resp.statusText } };
    } else {
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parts = (rest + value).split("\n");
        rest = parts.pop();
        const got = [];
        for (const p of parts) {
          if (!p) continue;
          const l = JSON.parse(p);
          if (l.end) { end = l; break; }
          if (l.open) {
            if (ctl.shown) $("status").textContent = "streaming: open after " + fmtMs(l.ms) + "…";
            continue;
          }
          v.items = l.n;
          if (l.n === 1) v.firstMs = l.ms;
          got.push(l);
        }
        if (!ctl.shown) continue;
        if (got.length) showItems(v, got.slice(-maxItems));
        streamCount(v, got.length ? got[got.length - 1].ms : performance.now() - started, false);
        if (end) break;
      }
      if (!end) end = { error: { code: "local", message: "the console ended the stream without saying how" } };
    }
  } catch (e) {
    end = ctl.signal.aborted
      ? { error: { code: "canceled", message: "stopped from the page: the stream was canceled on the server" } }
      : { error: { code: "local", message: "the console did not answer: " + e.message } };
  } finally {
    if (ctl.shown) {
      const stopFocused = document.activeElement === $("stop");
      streamDone();
      if (stopFocused || document.activeElement === document.body) $("call").focus();
    }
  }
  if (end.durationMs === undefined) end.durationMs = performance.now() - started;
  if (end.items === undefined) end.items = v.items;
  if (end.firstMs) v.firstMs = end.firstMs;
  v.items = end.items;
  if (m.stream.receives && end.sent !== undefined) v.sent = end.sent;
  end.stream = { items: end.items, sent: v.sent };
  if (ctl.shown) {
    streamCount(v, end.durationMs, true);
    if (end.error) showError(end.error, end.durationMs, true);
    else showResult(end, end.durationMs, true);
  }
  record(m.name, paramsText, end, items);
}

// stopStream stops the stream being shown, if one runs, and stops
// showing it.
function stopStream() {
  if (!state.stop) return;
  state.stop.shown = false;
  state.stop.abort();
  streamDone();
}

// streamDone puts the form back as it is when no stream runs.
function streamDone() {
  state.stop = null;
  $("call").disabled = false;
  $("stop").hidden = true;
}

