"""The dashboard and the demo page in Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.classroom.support import Learner, now

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium: run scripts/classroom-deps (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.dialogs = dialogs
    yield opened
    context.close()


@pytest.fixture
def room(make_server, tmp_path):
    return make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")


def test_the_grid_updates_without_a_reload(room, page, tmp_path):
    ada = room.join("Ada")
    page.goto(f"{room.url}/#key={room.secret}")
    page.wait_for_selector("#grid tbody th.name")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    before = page.inner_text("#grid")
    page.screenshot(path=str(tmp_path / "before.png"))
    assert "Ada" in before and "✔" not in before and page.inner_text("#status") == "● live"

    ada.report("first", True)
    page.wait_for_selector("#grid td.done", timeout=10_000)
    after = page.inner_text("#grid")
    page.screenshot(path=str(tmp_path / "after.png"))
    assert page.evaluate("window.loadedOnce") is True
    assert "✔" in after and "▶" in after and before != after
    assert (tmp_path / "before.png").read_bytes() != (tmp_path / "after.png").read_bytes()
    assert page.get_attribute("#grid td.done", "aria-label") == "done"  # not colour alone

    for _ in range(3):
        ada.report("second", False, "wrong-image", "That container ran another image.")
    page.wait_for_selector("#grid td.stuck", timeout=10_000)
    assert page.inner_text("#grid td.stuck") == "⚠"
    assert "Ada on second" in page.inner_text("#stuck")
    assert "1 learner: That container ran another image." in page.inner_text("#steps")
    assert "no readiness report yet" in page.inner_text("#not-ready")


def test_the_pace_line_counts_in_words_a_projector_can_show(room, page):
    room.join("Ada").report("first", True)
    page.goto(f"{room.url}/#key={room.secret}")
    page.wait_for_selector("#grid td.done", timeout=10_000)
    pace = page.inner_text("#pace")
    assert pace.startswith("1 learner · 1 step done in the last 10 min · median 1 step done"), pace
    room.join("Bo")
    deadline = time.monotonic() + 10
    while not page.inner_text("#pace").startswith("2 learners ·") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert page.inner_text("#pace").startswith("2 learners ·"), page.inner_text("#pace")


def test_names_and_sentences_are_shown_as_text(room, page):
    ada = room.join("Ada")
    ada.report("first", False, "no-tty", XSS)  # a sentence is free text
    with sqlite3.connect(room.db.removeprefix("sqlite:///")) as db:  # a name no API would take
        db.execute(
            "INSERT INTO learners (name, role, token_hash, joined) VALUES (?, 'learner', ?, 0)",
            (XSS, "0" * 64),
        )
    page.goto(f"{room.url}/#key={room.secret}")
    page.wait_for_function("document.querySelectorAll('#grid tbody tr').length == 2")
    time.sleep(0.5)
    assert XSS in page.inner_text("#grid")
    assert f"1 learner: {XSS}" in page.inner_text("#steps")
    assert page.locator("img").count() == 0 and page.dialogs == []


@pytest.mark.parametrize("fragment", ["", "#key=wrong"])
def test_without_the_key_a_clear_message_and_no_data(room, page, fragment):
    room.join("Ada").report("first", True)
    page.goto(f"{room.url}/{fragment}")
    page.wait_for_selector("#message:not([hidden])")
    message = page.inner_text("#message")
    assert "#key=" in message and (
        "needs the instructor's key" in message or "not this room's instructor secret" in message
    )
    assert "Ada" not in page.content() and not page.is_visible("#room")


def test_the_demo_page_streams_the_instructors_commands(room, page):
    teacher = room.join("Teacher", role="instructor")
    page.goto(f"{room.url}/demo#code={room.code}")
    page.wait_for_selector("#waiting:not([hidden])")  # before the first demo: not a blank page
    assert "workshop solve" in page.inner_text("#waiting")
    teacher.post({"seq": 1, "at": now(), "kind": "demo", "what": "step", "text": "Run ls"})
    page.wait_for_selector("#lines li.step")
    assert not page.is_visible("#waiting")
    teacher.post(
        {
            "seq": 2,
            "at": now(),
            "kind": "demo",
            "what": "command",
            "text": "docker container run alpine ls -l",
        },
        {"seq": 3, "at": now(), "kind": "demo", "what": "output", "text": XSS},
    )
    page.wait_for_selector("#lines li.output")
    assert "$ docker container run alpine ls -l" in page.inner_text("#lines")
    assert XSS in page.inner_text("#lines li.output") and page.locator("img").count() == 0
    newest = page.locator("#lines li.newest")
    assert newest.count() == 2 and "Run ls" not in newest.all_inner_texts()


def test_the_demo_page_asks_for_the_code(room, page):
    page.goto(f"{room.url}/demo")
    page.wait_for_selector("#ask:not([hidden])")
    page.fill("#code", "WRNG-CODE")
    page.click("button[type=submit]")
    page.wait_for_selector("#message:not([hidden])")
    assert "not this room's join code" in page.inner_text("#message")


# -- the dashboard on a projector ---------------------------------------------------------------


def dashboard(room, page, **wait):
    page.goto(f"{room.url}/#key={room.secret}")
    page.wait_for_selector("#grid tbody th.name", **wait)
    return page


def names(page) -> list[str]:
    return page.eval_on_selector_all(
        "#grid tbody tr th.name .who", "cells => cells.map(c => c.textContent)"
    )


def until(page, expression: str, timeout: float = 10) -> None:
    """Wait for a JavaScript expression to be true, polled from here (wait_for_function polls in
    the page by evaluating a string, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression}"
        time.sleep(0.1)


def stuck(learner, step="first", mistake="no-tty", times=3):
    for _ in range(times):
        learner.report(step, False, mistake, "The shell has no terminal: add -it.")


def test_the_key_leaves_the_address_bar_and_a_reload_still_works(room, page):
    room.join("Ada")
    dashboard(room, page)
    assert room.secret not in page.url and "#" not in page.url
    assert room.secret not in page.evaluate("history.state === null ? location.href : ''")
    page.reload()
    page.wait_for_selector("#grid tbody th.name")
    assert names(page) == ["Ada"] and page.inner_text("#status") == "● live"
    assert room.secret not in page.url


def test_sorting_and_filtering(room, page):
    ada, bob, cy = room.join("Ada"), room.join("Bob"), room.join("Cy")
    ada.report("first", True)
    ada.report("second", True)
    bob.report("first", True)
    stuck(cy)
    dashboard(room, page)
    page.wait_for_selector("tr.is-stuck")
    assert names(page) == ["Cy", "Bob", "Ada"]  # stuck first, then least progress
    page.select_option("#sort", "name")
    assert names(page) == ["Ada", "Bob", "Cy"]
    page.select_option("#sort", "progress")
    assert names(page) == ["Cy", "Bob", "Ada"]
    page.check("#stuck-only")
    assert names(page) == ["Cy"] and page.inner_text("#shown") == "1 of 3 shown"
    page.uncheck("#stuck-only")
    page.fill("#find", "o")
    assert names(page) == ["Bob"]
    page.fill("#find", "zz")
    assert names(page) == [] and page.inner_text("#grid tbody") == "No learner matches."
    page.fill("#find", "")
    bob.post({"seq": 99, "at": now(), "kind": "left"})
    until(page, "document.querySelectorAll('#grid tbody tr').length == 2")
    assert names(page) == ["Cy", "Ada"]  # who left is hidden...
    page.check("#show-left")
    assert names(page) == ["Cy", "Bob", "Ada"]  # ... unless asked
    assert "(left)" in page.inner_text("#grid tbody tr:nth-child(2) th")
    page.reload()  # the sort and the choices stay for the next visit
    page.wait_for_selector("#grid tbody th.name")
    assert page.input_value("#sort") == "progress" and page.is_checked("#show-left")


def test_a_silent_learner_is_flagged_after_the_chosen_minutes(room, page):
    from workshop.classroom.store import token_hash

    room.join("Ada").report("first", True)
    with sqlite3.connect(room.db.removeprefix("sqlite:///")) as db:  # joined 7 minutes ago
        db.execute(
            "INSERT INTO learners (name, role, token_hash, joined) "
            "VALUES ('Quiet', 'learner', ?, ?)",
            (token_hash("quiet-token"), time.time() - 7 * 60),
        )
    dashboard(room, page)
    page.wait_for_selector("#grid tbody .silent-mark")
    quiet = page.locator("#grid tbody tr", has_text="Quiet")
    assert "… silent 7 min" in quiet.inner_text()
    assert page.locator("#grid tbody .silent-mark").count() == 1  # Ada has just reported
    page.fill("#silent-after", "10")
    assert page.locator("#grid tbody .silent-mark").count() == 0
    page.fill("#silent-after", "5")
    page.check("#silent-only")
    assert names(page) == ["Quiet"]
    page.uncheck("#silent-only")
    learner = Learner(room, "quiet-token", 2, "Quiet")
    assert learner.report("first", False).status == 200  # heard from: no longer silent
    page.wait_for_selector("#grid tbody .silent-mark", state="detached", timeout=10_000)


def test_the_watchdog_says_reconnecting_when_the_server_freezes(room, page):
    ada = room.join("Ada")
    dashboard(room, page)
    assert page.inner_text("#status") == "● live"
    os.kill(room.process.pid, signal.SIGSTOP)
    try:
        until(page, "document.getElementById('status').textContent.startsWith('reconn')", 20)
        status = page.inner_text("#status")
        assert re.fullmatch(r"reconnecting… last update \d\d:\d\d:\d\d", status), status
    finally:
        os.kill(room.process.pid, signal.SIGCONT)
    until(page, "document.getElementById('status').textContent === '● live'", 20)
    ada.report("first", True)
    page.wait_for_selector("#grid td.done", timeout=10_000)


def test_focus_stays_on_its_node_across_updates(room, page):
    ada, bob = room.join("Ada"), room.join("Bob")
    ada.report("first", True)
    dashboard(room, page)
    assert names(page) == ["Bob", "Ada"]  # least progress first
    page.focus("#grid tbody tr:nth-child(2) th.name")
    page.evaluate("window.focused = document.activeElement")
    assert page.evaluate("window.focused.innerText.startsWith('Ada')")
    ada.report("second", True)  # Ada's row changes in place
    until(page, "document.querySelectorAll('#grid tbody tr:nth-child(2) td.done').length == 2")
    assert page.evaluate("document.activeElement === window.focused")
    for step in ("first", "second", "third"):
        bob.report(step, True)  # now Bob has done more: Ada's row moves to the top
    until(page, "document.querySelector('#grid tbody tr:first-child .who').textContent == 'Ada'")
    assert names(page) == ["Ada", "Bob"]
    assert page.evaluate("document.activeElement === window.focused")
    assert page.evaluate("window.focused.isConnected")


def test_news_announces_what_changed_and_only_that(room, page):
    ada = room.join("Ada")
    dashboard(room, page)
    assert page.get_attribute("#pace", "aria-live") is None  # the pace line is not announced
    assert page.get_attribute("#news", "role") == "log"
    stuck(ada)
    page.wait_for_selector("#news li", timeout=10_000)
    assert "Ada is stuck on first" in page.inner_text("#news")
    for step in ("first", "second", "third"):
        ada.report(step, True)
    until(page, "document.querySelectorAll('#news li').length == 2", 10)
    assert "Ada has done every step" in page.inner_text("#news li:last-child")
    time.sleep(11)  # the room is sent again at least every 10 s: nothing new, nothing said
    assert page.locator("#news li").count() == 2


def test_a_learner_whose_kit_differs_is_marked(room, page):
    """The `kit` field comes from the room data (branch room-net adds it at join); here it is
    added to the real server's snapshot on its way to the page."""
    room.join("Ada")
    room.join("Bob")
    snapshot = room.room()
    sentence = "Bob's labs differ from the server's: run `git pull` in the kit's folder."
    for learner in snapshot["learners"]:
        differs = learner["name"] == "Bob"
        learner["kit"] = {"version": "0.1.0", "digest": "abc", "differs": differs, "what": sentence}
    body = f"event: room\ndata: {json.dumps(snapshot)}\n\n"
    page.route(
        "**/api/v1/room/events",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    dashboard(room, page)
    mark = page.locator("#grid tbody tr", has_text="Bob").locator(".kit-mark")
    assert mark.is_visible() and mark.get_attribute("title") == sentence
    assert page.locator(".kit-mark").count() == 1 + 1  # Bob's, and the legend's
    assert sentence in page.inner_text("#kits")


def test_the_csv_button_saves_the_export(room, page):
    room.join("Ada").report("first", True)
    dashboard(room, page)
    asked = []
    page.on("request", lambda request: asked.append(request))
    with page.expect_download() as download:
        page.click("#csv")
    saved = Path(download.value.path()).read_text()
    assert saved.splitlines()[0].startswith("name,done,current,stuck")
    assert saved.splitlines()[1].startswith("Ada,first,second,no")
    export = next(r for r in asked if "/api/v1/export" in r.url)
    assert room.secret not in export.url
    assert export.headers["authorization"] == f"Bearer {room.secret}"
    assert download.value.suggested_filename.endswith(".csv")


def test_the_demo_page_shows_what_a_terminal_shows(room, page):
    """A recorded `workshop solve` of busybox in `docker run -it` (see tests/classroom/fixtures),
    sent in its pieces as the instructor's client sends them."""
    pieces = json.loads((Path(__file__).parent / "fixtures" / "busybox-session.json").read_text())
    teacher = room.join("Teacher", role="instructor")
    teacher.post({"seq": 1, "at": now(), "kind": "demo", "what": "step", "text": "A shell"})
    page.goto(f"{room.url}/demo#code={room.code}")
    page.wait_for_selector("#lines li.step")
    half = pieces.index(["command", "docker container run --rm -it alpine /bin/ash"])
    sent = [
        {"seq": n, "at": now(), "kind": "demo", "what": what, "text": text}
        for n, (what, text) in enumerate(pieces, start=2)
    ]
    assert teacher.post(*sent[:half]).status == 200
    page.wait_for_selector("#lines li.output")
    until(page, "document.querySelector('#lines li.output').innerText.endsWith('/ # exit')")
    page.evaluate("window.firstOutput = document.querySelector('#lines li.output')")
    for piece in sent[half:]:  # one by one: the command's entry changes in place
        assert teacher.post(piece).status == 200
        time.sleep(0.25)
    until(page, "document.querySelectorAll('#lines li.output').length == 2")
    until(page, "document.querySelectorAll('#lines li.output')[1].innerText.endsWith('/ # exit')")
    first, second = page.locator("#lines li.output").all_inner_texts()
    assert page.evaluate("document.querySelector('#lines li.output') === window.firstOutput")
    assert "/ # ls\nbin   dev   etc" in first and "011a70505cee: Pull complete\n" in first
    assert "/ # / #" not in first + second and "\x1b" not in first + second
    assert "Downloading" not in first  # progress redrawn in place, as on the terminal
    assert '/ # echo "hello world" > hello.txt\n/ # cat hello.txt\nhello world\n/ # exit' in second
    newest = page.locator("#lines li.newest")
    assert newest.count() == 1 and newest.inner_text() == second  # what changed last


def test_an_empty_room_says_so_then_fills_in(room, page):
    page.goto(f"{room.url}/#key={room.secret}")
    page.wait_for_selector("#grid tbody td.empty")
    assert page.inner_text("#grid tbody") == "No learner has joined yet."
    room.join("Ada")
    page.wait_for_selector("#grid tbody th.name", timeout=10_000)
    assert names(page) == ["Ada"] and page.locator("#grid tbody td.empty").count() == 0
    assert "Ada joined." in page.inner_text("#news")


def test_the_learners_who_cannot_pull_are_counted_and_named(room, page):
    """Each learner's doctor reports whether they can pull what the course needs (an offline
    room's mirror, or Docker Hub): the dashboard counts who cannot, with names and why, live."""
    from tests.classroom.test_offline_room import readiness

    ada, bob, cy = room.join("Ada"), room.join("Bob"), room.join("Cy")
    dashboard(room, page)
    assert "Nobody reports that they cannot pull" in page.inner_text("#pull-count")
    mirror = "engine does not use the room's mirror http://10.0.0.5:5000"
    missing = "python:3.12-slim: not on the room's mirror http://10.0.0.5:5000"
    assert ada.post(readiness(1, False, [mirror])).status == 200
    assert bob.post(readiness(1, False, [missing])).status == 200
    assert cy.post(readiness(1, True)).status == 200
    page.wait_for_selector("#pull-count.cannot-pull", timeout=10_000)
    page.wait_for_selector("#cannot-pull li:nth-child(2)", timeout=10_000)
    assert page.inner_text("#pull-count") == "2 learners cannot pull"
    named = page.inner_text("#cannot-pull")
    assert f"Ada: {mirror}" in named and f"Bob: {missing}" in named and "Cy" not in named
    assert page.locator("#pull-count").is_visible()
    mark = page.locator("#grid tbody tr", has_text="Ada").locator(".pull-mark")
    assert mark.inner_text() == "✗ cannot pull" and mark.get_attribute("title") == mirror
    assert page.locator("#grid tbody tr", has_text="Cy").locator(".pull-mark").count() == 0
