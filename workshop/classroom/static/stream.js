// Server-sent events over fetch, so the secret travels in a header (never in a URL or a log).
// The server sends a heartbeat every HEARTBEAT ms; when nothing at all arrives for about two of
// them (a laptop that slept, a half-open connection, a frozen server) the stream is called dead,
// the page says "reconnecting" with the time of the last update, and a new stream is opened.
"use strict";

const HEARTBEAT = 5000;
const QUIET = 2.4 * HEARTBEAT;

async function followEvents(url, headers, onEvent, onState) {
  let lastHeard = null; // when the last event (data or heartbeat) arrived
  for (;;) {
    const abort = new AbortController();
    let watchdog = setTimeout(() => abort.abort(), QUIET);
    const heard = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), QUIET);
    };
    try {
      const response = await fetch(url, { headers, cache: "no-store", signal: abort.signal });
      if (response.status === 401 || response.status === 403) {
        clearTimeout(watchdog);
        const body = await response.json().catch(() => ({}));
        onState("refused", body.error || "Refused.");
        return;
      }
      if (!response.ok) throw new Error("status " + response.status);
      heard();
      onState("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        heard();
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          lastHeard = new Date();
          if (data.length && name !== "heartbeat") onEvent(name, JSON.parse(data.join("\n")));
        }
      }
    } catch (error) {
      // the server stopped, the network dropped, or the watchdog gave up: try again shortly
    }
    clearTimeout(watchdog);
    onState("reconnecting", lastHeard);
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

function statusText(state, lastHeard) {
  if (state === "live") return "● live";
  if (!lastHeard) return "reconnecting…";
  return "reconnecting… last update " + lastHeard.toLocaleTimeString([], { hour12: false });
}

function fragment(name) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return params.get(name) || "";
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// Change a node only where it differs: a screen reader's place and the focus stay put.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}
