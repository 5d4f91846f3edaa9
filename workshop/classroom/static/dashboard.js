// The instructor's dashboard: learners x steps, live, for a projector. Every name and sentence is
// set as text. Rows are keyed by learner and cells changed in place, so a keyboard's focus and a
// screen reader's place survive each update; the news log announces what is new (a learner stuck,
// done, silent, joined, gone), not the whole room every few seconds.
"use strict";

const SYMBOL = { done: "✔", current: "▶", stuck: "⚠", todo: "·" };
const WORD = { done: "done", current: "current step", stuck: "stuck", todo: "not started" };
const KEY = "workshop-dashboard-key";
const SETTINGS = "workshop-dashboard-settings";
const NEWS_KEPT = 8;

let room = null; // the latest snapshot
let offset = 0; // server clock minus this page's clock, seconds
let before = null; // id -> what news is told from, as of the previous update
const rows = new Map(); // learner id -> { row, name, marks, time, cells: Map(step id -> td) }
let stepIds = "";
const empty = element("tr", null, "none");
empty.appendChild(element("td", "", "empty"));

function show(message) {
  const box = document.getElementById("message");
  box.textContent = message;
  box.hidden = false;
  document.getElementById("room").hidden = true;
  document.getElementById("controls").hidden = true;
}

function serverNow() {
  return Date.now() / 1000 + offset;
}

function minutes(seconds) {
  const m = Math.floor(seconds / 60);
  return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
}

// -- what the controls ask for ----------------------------------------------------------------

function controls() {
  const after = Number(document.getElementById("silent-after").value);
  return {
    find: document.getElementById("find").value.trim().toLocaleLowerCase(),
    sort: document.getElementById("sort").value,
    stuckOnly: document.getElementById("stuck-only").checked,
    silentOnly: document.getElementById("silent-only").checked,
    showLeft: document.getElementById("show-left").checked,
    silentAfter: after > 0 ? after : 5,
  };
}

function silentFor(learner, asked) {
  if (learner.left) return 0;
  const quiet = serverNow() - learner.last_heard;
  return quiet >= asked.silentAfter * 60 ? quiet : 0;
}

function order(learners, asked) {
  const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
  const progress = (a, b) => a.done.length - b.done.length;
  const stuck = (a, b) => Number(b.stuck) - Number(a.stuck);
  const compare = {
    stuck: (a, b) => stuck(a, b) || progress(a, b) || byName(a, b),
    progress: (a, b) => progress(a, b) || byName(a, b),
    name: byName,
  }[asked.sort] || byName;
  return learners.slice().sort(compare);
}

function chosen(learners, asked) {
  return learners.filter((l) =>
    (asked.showLeft || !l.left) &&
    (!asked.stuckOnly || l.stuck) &&
    (!asked.silentOnly || silentFor(l, asked)) &&
    (!asked.find || l.name.toLocaleLowerCase().includes(asked.find)));
}

// -- the grid, changed in place ---------------------------------------------------------------

function header(steps) {
  const thead = document.getElementById("grid").tHead;
  const ids = steps.map((s) => s.id).join(" ");
  if (ids !== stepIds) { // the course itself changed (never during a class): build anew
    const row = element("tr");
    row.appendChild(element("th", "Learner", "name"));
    row.appendChild(element("th", "On step", "time"));
    steps.forEach((step, n) => {
      const cell = element("th", null, "step");
      cell.title = step.lab + " / " + step.id + ": " + step.title;
      cell.appendChild(element("span", n + 1 + " " + step.id, "step-id"));
      cell.appendChild(element("span", "", "here"));
      row.appendChild(cell);
    });
    thead.replaceChildren(row);
    for (const known of rows.values()) known.row.remove();
    rows.clear();
    stepIds = ids;
  }
  steps.forEach((step, n) => {
    setText(thead.rows[0].cells[n + 2].lastChild, step.here ? step.here + " here" : "");
  });
}

function newRow(learner, steps) {
  const row = element("tr");
  row.dataset.id = String(learner.id);
  const name = element("th", null, "name");
  name.scope = "row";
  name.tabIndex = 0; // a keyboard walks the learners; the focus stays through updates
  const who = element("span", learner.name, "who");
  const marks = element("span", null, "marks");
  name.append(who, marks);
  const time = element("td", "", "time");
  row.append(name, time);
  const cells = new Map();
  for (const step of steps) {
    const cell = element("td");
    cells.set(step.id, cell);
    row.appendChild(cell);
  }
  return { row, who, marks, time, cells, marksKey: null };
}

function markList(learner, asked) {
  const marks = [];
  if (learner.left) marks.push(["left-mark", "(left)", "has left the room"]);
  const quiet = silentFor(learner, asked);
  if (quiet) marks.push(["silent-mark", "… silent " + minutes(quiet), "nothing heard for " + minutes(quiet)]);
  if (!learner.ready) marks.push(["not-ready", "✗ not ready", learner.not_ready_because.join("; ")]);
  if (learner.can_pull === false) {
    marks.push(["not-ready pull-mark", "✗ cannot pull", learner.cannot_pull_because.join("; ")]);
  }
  const kit = learner.kit;
  if (kit && kit.differs) marks.push(["kit-mark", "≠ kit", kit.what || "this learner's kit differs"]);
  return marks;
}

function updateRow(known, learner, steps, asked) {
  setAttr(known.row, "class", learner.stuck ? "is-stuck" : null);
  setText(known.who, learner.name);
  const marks = markList(learner, asked);
  const marksKey = JSON.stringify(marks);
  if (marksKey !== known.marksKey) { // marks are text, never focusable: rebuilt when they change
    known.marks.replaceChildren(...marks.map(([kind, text, title]) => {
      const mark = element("span", text, kind);
      mark.title = title;
      return mark;
    }));
    known.marksKey = marksKey;
  }
  let time = "";
  if (learner.left) time = "";
  else if (learner.current === null) time = learner.done.length === steps.length ? "all done" : "—";
  else if (learner.since !== null && learner.since !== undefined) time = minutes(serverNow() - learner.since);
  setText(known.time, time);
  setAttr(known.time, "title", learner.current ? "time on " + learner.current : null);
  for (const step of steps) {
    const cell = known.cells.get(step.id);
    const state = learner.cells[step.id];
    setText(cell, SYMBOL[state]);
    setAttr(cell, "class", state);
    setAttr(cell, "aria-label", WORD[state]);
    setAttr(cell, "title", learner.name + ", " + step.id + ": " + WORD[state] +
      (state === "stuck" ? " (" + learner.why_stuck + ")" : ""));
  }
}

function place(body, wanted) {
  // Put the wanted rows in order, moving only those out of place; moveBefore (where the browser
  // has it) keeps the focus inside a moved row too.
  const present = new Set(wanted);
  for (const child of Array.from(body.children)) if (!present.has(child)) child.remove();
  const focused = document.activeElement;
  let at = body.firstElementChild;
  for (const row of wanted) {
    if (row === at) { at = at.nextElementSibling; continue; }
    if (typeof body.moveBefore === "function" && row.isConnected) body.moveBefore(row, at);
    else body.insertBefore(row, at);
  }
  // without moveBefore a moved row loses the focus: give it back
  if (focused && focused !== document.activeElement && focused.isConnected) {
    focused.focus({ preventScroll: true });
  }
}

function grid(asked) {
  const steps = room.steps;
  header(steps);
  const body = document.getElementById("grid").tBodies[0];
  const seen = new Set();
  for (const learner of room.learners) {
    seen.add(learner.id);
    if (!rows.has(learner.id)) rows.set(learner.id, newRow(learner, steps));
    updateRow(rows.get(learner.id), learner, steps, asked);
  }
  for (const id of Array.from(rows.keys())) if (!seen.has(id)) rows.delete(id);
  const shown = order(chosen(room.learners, asked), asked);
  const wanted = shown.map((l) => rows.get(l.id).row);
  if (!wanted.length) {
    setText(empty.firstChild, room.learners.length ? "No learner matches." : "No learner has joined yet.");
    empty.firstChild.colSpan = steps.length + 2;
    wanted.push(empty);
  }
  place(body, wanted);
  setText(document.getElementById("shown"),
    shown.length === room.learners.length ? "" : shown.length + " of " + room.learners.length + " shown");
}

// -- news: what changed since the last update ---------------------------------------------------

function tell(lines) {
  if (!lines.length) return;
  const log = document.getElementById("news");
  const at = new Date().toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
  for (const line of lines) log.appendChild(element("li", at + " " + line));
  while (log.children.length > NEWS_KEPT) log.firstElementChild.remove();
}

function news(asked) {
  const now = new Map();
  const lines = [];
  const total = room.steps.length;
  for (const l of room.learners) {
    const state = {
      stuck: l.stuck, finished: total > 0 && l.done.length === total, left: l.left,
      silent: Boolean(silentFor(l, asked)), differs: Boolean(l.kit && l.kit.differs),
    };
    now.set(l.id, state);
    if (before === null) continue; // the first update is the baseline, not news
    const was = before.get(l.id);
    if (!was) { lines.push(l.name + " joined."); continue; }
    if (state.left && !was.left) { lines.push(l.name + " left."); continue; }
    if (state.stuck && !was.stuck) lines.push("⚠ " + l.name + " is stuck on " + l.current + ": " + l.why_stuck + ".");
    if (state.finished && !was.finished) lines.push("✔ " + l.name + " has done every step.");
    if (state.silent && !was.silent) lines.push("… " + l.name + " has gone silent.");
    if (state.differs && !was.differs) lines.push("≠ " + l.name + ": " + l.kit.what);
  }
  before = now;
  tell(lines);
}

// -- the rest of the page -----------------------------------------------------------------------

function aside() {
  const pace = room.pace;
  const count = (n, one, many) => n + " " + (n === 1 ? one : many);
  const bits = [count(pace.learners, "learner", "learners"),
    count(pace.steps_done_last_10_min, "step", "steps") + " done in the last 10 min",
    "median " + count(pace.median_steps_done, "step", "steps") + " done"];
  if (pace.median_minutes_per_step !== null) bits.push(pace.median_minutes_per_step + " min per step");
  if (pace.most_are_on) bits.push("most are on " + pace.most_are_on);
  setText(document.getElementById("pace"), bits.join(" · "));

  const stuck = room.learners.filter((l) => l.stuck);
  document.getElementById("stuck").replaceChildren(
    ...(stuck.length ? stuck.map((l) => element("li", "⚠ " + l.name + " on " + l.current + ": " + l.why_stuck))
      : [element("li", "Nobody.")]));

  const steps = room.steps.filter((s) => s.here);
  document.getElementById("steps").replaceChildren(...(steps.length ? steps.map((s) => {
    const item = element("li");
    item.appendChild(element("strong", s.id + ": " + s.here + " here, " + s.done + " done"));
    const list = element("ul");
    for (const m of s.mistakes) list.appendChild(element("li", m.label));
    item.appendChild(list);
    return item;
  }) : [element("li", "Nobody has started yet.")]));

  const differ = room.learners.filter((l) => l.kit && l.kit.differs && !l.left);
  document.getElementById("kits-box").hidden = !differ.length;
  document.getElementById("kits").replaceChildren(...differ.map((l) =>
    element("li", "≠ " + l.name + ": " + (l.kit.what || "kit differs"))));

  setText(document.getElementById("ready-count"),
    room.readiness.ready + " of " + room.learners.length + " ready");
  document.getElementById("not-ready").replaceChildren(...room.readiness.not_ready.map((r) =>
    element("li", "✗ " + r.name + ": " + r.because.join("; "))));

  // who cannot fetch the course's images and packages (from each learner's doctor)
  const cannot = room.readiness.cannot_pull || [];
  const unchecked = room.readiness.pull_unchecked || [];
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
  setText(document.getElementById("pull-count"), cannot.length
    ? plural(cannot.length, "learner cannot pull", "learners cannot pull")
    : "Nobody reports that they cannot pull" +
      (unchecked.length ? " (" + plural(unchecked.length, "learner", "learners") + " not checked)" : ""));
  document.getElementById("pull-count").className = cannot.length ? "cannot-pull" : "";
  document.getElementById("cannot-pull").replaceChildren(...cannot.map((r) =>
    element("li", "✗ " + r.name + ": " + (r.because.join("; ") || "cannot pull"))));
}

function update() {
  if (!room) return;
  const asked = controls();
  grid(asked);
  aside();
}

function received(snapshot) {
  room = snapshot;
  offset = snapshot.server_time - Date.now() / 1000;
  document.getElementById("message").hidden = true;
  document.getElementById("room").hidden = false;
  document.getElementById("controls").hidden = false;
  update();
  news(controls());
}

function setStatus(state, detail) {
  const status = document.getElementById("status");
  if (state === "refused") {
    sessionStorage.removeItem(KEY);
    show(detail + " The link `workshop classroom serve` printed ends in #key=...");
    status.textContent = "no access";
  } else {
    status.textContent = statusText(state, detail);
  }
}

async function downloadCsv(key) {
  const button = document.getElementById("csv");
  button.disabled = true;
  try {
    const response = await fetch("/api/v1/export?format=csv",
      { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || "status " + response.status);
    const blob = await response.blob();
    const link = element("a");
    link.href = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    link.download = "classroom-" + stamp + ".csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    tell(["The CSV could not be fetched (" + error.message + "): try again."]);
  } finally {
    button.disabled = false;
  }
}

function remember() {
  const asked = controls();
  localStorage.setItem(SETTINGS, JSON.stringify({
    sort: asked.sort, showLeft: asked.showLeft, silentAfter: asked.silentAfter,
  }));
}

function restore() {
  try {
    const kept = JSON.parse(localStorage.getItem(SETTINGS) || "{}");
    if (kept.sort) document.getElementById("sort").value = kept.sort;
    if (kept.showLeft) document.getElementById("show-left").checked = true;
    if (kept.silentAfter) document.getElementById("silent-after").value = kept.silentAfter;
  } catch (error) {
    localStorage.removeItem(SETTINGS);
  }
}

// The key comes after #key= in the link serve printed: read once, then taken out of the address
// bar (a projector shows it) and kept for this tab only, so a reload still works.
let key = fragment("key");
if (key) {
  sessionStorage.setItem(KEY, key);
  history.replaceState(null, "", window.location.pathname + window.location.search);
} else {
  key = sessionStorage.getItem(KEY) || "";
}
restore();
const form = document.getElementById("controls");
form.addEventListener("input", () => { remember(); update(); });
form.addEventListener("change", () => { remember(); update(); });
form.addEventListener("submit", (event) => event.preventDefault());
setInterval(update, 15000); // times on a step and silences grow between updates too
if (!key) {
  show("This dashboard needs the instructor's key: open the dashboard link that " +
    "`workshop classroom serve` printed (it ends in #key=...).");
  document.getElementById("status").textContent = "no key";
} else {
  document.getElementById("csv").addEventListener("click", () => downloadCsv(key));
  followEvents("/api/v1/room/events", { Authorization: "Bearer " + key },
    (name, data) => { if (name === "room") received(data); }, setStatus);
}
