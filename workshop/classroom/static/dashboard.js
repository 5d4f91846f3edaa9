// The instructor's dashboard: learners x steps, live. Every name and sentence is set as text.
"use strict";

const SYMBOL = { done: "✔", current: "▶", stuck: "⚠", todo: "·" };
const WORD = { done: "done", current: "current step", stuck: "stuck", todo: "not started" };

function show(message) {
  const box = document.getElementById("message");
  box.textContent = message;
  box.hidden = false;
  document.getElementById("room").hidden = true;
}

function header(steps) {
  const row = element("tr");
  row.appendChild(element("th", "Learner", "name"));
  steps.forEach((step, n) => {
    const cell = element("th", null, "step");
    cell.title = step.lab + " / " + step.id + ": " + step.title;
    cell.appendChild(element("span", n + 1 + " " + step.id, "step-id"));
    cell.appendChild(element("span", step.here ? step.here + " here" : "", "here"));
    row.appendChild(cell);
  });
  return row;
}

function learnerRow(learner, steps) {
  const row = element("tr", null, learner.stuck ? "is-stuck" : "");
  const name = element("th", learner.name, "name");
  name.scope = "row";
  if (learner.left) name.appendChild(element("span", " (left)", "left-mark"));
  if (!learner.ready) name.appendChild(element("span", " ✗ not ready", "not-ready"));
  row.appendChild(name);
  for (const step of steps) {
    const state = learner.cells[step.id];
    const cell = element("td", SYMBOL[state], state);
    cell.title = learner.name + ", " + step.id + ": " + WORD[state] +
      (state === "stuck" ? " (" + learner.why_stuck + ")" : "");
    cell.setAttribute("aria-label", WORD[state]);
    row.appendChild(cell);
  }
  return row;
}

function render(room) {
  document.getElementById("message").hidden = true;
  document.getElementById("room").hidden = false;
  const grid = document.getElementById("grid");
  grid.tHead.replaceChildren(header(room.steps));
  grid.tBodies[0].replaceChildren(...room.learners.map((l) => learnerRow(l, room.steps)));
  if (!room.learners.length) {
    const row = element("tr");
    const cell = element("td", "No learner has joined yet.", "empty");
    cell.colSpan = room.steps.length + 1;
    row.appendChild(cell);
    grid.tBodies[0].replaceChildren(row);
  }

  const pace = room.pace;
  const bits = [pace.learners + " learners", pace.steps_done_last_10_min + " steps done in the last 10 min",
    "median " + pace.median_steps_done + " steps done"];
  if (pace.median_minutes_per_step !== null) bits.push(pace.median_minutes_per_step + " min per step");
  if (pace.most_are_on) bits.push("most are on " + pace.most_are_on);
  document.getElementById("pace").textContent = bits.join(" · ");

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

  document.getElementById("ready-count").textContent =
    room.readiness.ready + " of " + room.learners.length + " ready";
  document.getElementById("not-ready").replaceChildren(...room.readiness.not_ready.map((r) =>
    element("li", "✗ " + r.name + ": " + r.because.join("; "))));
}

function setStatus(state, message) {
  const status = document.getElementById("status");
  if (state === "refused") {
    show(message + " The link `workshop classroom serve` printed ends in #key=...");
    status.textContent = "no access";
  } else {
    status.textContent = state === "live" ? "● live" : "reconnecting…";
  }
}

const key = fragment("key");
if (!key) {
  show("This dashboard needs the instructor's key: open the dashboard link that " +
    "`workshop classroom serve` printed (it ends in #key=...).");
  document.getElementById("status").textContent = "no key";
} else {
  followEvents("/api/v1/room/events", { Authorization: "Bearer " + key },
    (name, data) => { if (name === "room") render(data); }, setStatus);
}
