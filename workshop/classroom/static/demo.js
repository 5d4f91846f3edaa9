// The instructor's demo, read-only: steps, commands and their output as a terminal shows it
// (the server plays the output on a terminal), newest highlighted. Entries are keyed by their
// number: a new one is added, the current command's output changes in place, nothing else moves.
"use strict";

const items = new Map(); // entry number -> { item, text }

function atBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
}

function entryItem(line) {
  const item = element("li", null, line.what);
  if (line.what === "command") item.appendChild(element("code", "$ " + line.text));
  else if (line.what === "output") item.appendChild(element("pre", line.text));
  else item.appendChild(element("h2", line.text));
  return item;
}

function render(lines) {
  const list = document.getElementById("lines");
  document.getElementById("waiting").hidden = lines.length > 0; // not a blank page before the first
  const follow = atBottom();
  const first = items.size === 0;
  const changed = [];
  const present = new Set();
  for (const line of lines) {
    present.add(line.n);
    const known = items.get(line.n);
    if (known && known.text === line.text) continue;
    if (known) { // the current command's output grew or was redrawn: its text changes in place
      known.item.firstChild.textContent = line.what === "command" ? "$ " + line.text : line.text;
      known.text = line.text;
      changed.push(known.item);
    } else {
      const item = entryItem(line);
      list.appendChild(item);
      items.set(line.n, { item, text: line.text });
      changed.push(item);
    }
  }
  for (const [n, known] of items) {
    if (!present.has(n)) {
      known.item.remove();
      items.delete(n);
    }
  }
  if (!changed.length) return;
  for (const item of list.querySelectorAll("li.newest")) item.classList.remove("newest");
  for (const item of first ? changed.slice(-1) : changed) item.classList.add("newest");
  if (follow) window.scrollTo(0, document.body.scrollHeight);
  else document.getElementById("latest").hidden = false;
}

function start(code) {
  document.getElementById("ask").hidden = true;
  followEvents("/api/v1/demo/events", { "X-Join-Code": code },
    (name, data) => { if (name === "demo") render(data.demo); },
    (state, detail) => {
      const status = document.getElementById("status");
      if (state === "refused") {
        status.textContent = "no access";
        const box = document.getElementById("message");
        box.textContent = detail;
        box.hidden = false;
        document.getElementById("ask").hidden = false;
      } else {
        status.textContent = statusText(state, detail);
      }
    });
}

document.getElementById("latest").addEventListener("click", () => {
  window.scrollTo(0, document.body.scrollHeight);
  document.getElementById("latest").hidden = true;
});
document.getElementById("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  document.getElementById("message").hidden = true;
  start(document.getElementById("code").value.trim());
});

const code = fragment("code");
if (code) start(code);
else document.getElementById("ask").hidden = false;
