// The instructor's demo, read-only: steps, commands and their output, newest highlighted.
"use strict";

let shown = 0;

function atBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
}

function render(lines) {
  const list = document.getElementById("lines");
  const follow = atBottom();
  const first = shown === 0 || lines.length < shown ? lines.length - 1 : shown;
  list.replaceChildren(...lines.map((line, n) => {
    const item = element("li", null, line.what + (n >= first ? " newest" : ""));
    if (line.what === "command") item.appendChild(element("code", "$ " + line.text));
    else if (line.what === "output") item.appendChild(element("pre", line.text));
    else item.appendChild(element("h2", line.text));
    return item;
  }));
  shown = lines.length;
  if (follow) window.scrollTo(0, document.body.scrollHeight);
  else document.getElementById("latest").hidden = false;
}

function start(code) {
  document.getElementById("ask").hidden = true;
  followEvents("/api/v1/demo/events", { "X-Join-Code": code },
    (name, data) => { if (name === "demo") render(data.demo); },
    (state, message) => {
      const status = document.getElementById("status");
      if (state === "refused") {
        status.textContent = "no access";
        const box = document.getElementById("message");
        box.textContent = message;
        box.hidden = false;
        document.getElementById("ask").hidden = false;
      } else {
        status.textContent = state === "live" ? "● live" : "reconnecting…";
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
