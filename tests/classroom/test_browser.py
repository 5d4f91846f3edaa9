"""The dashboard and the demo page in Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.classroom.support import now

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
    teacher.post({"seq": 1, "at": now(), "kind": "demo", "what": "step", "text": "Run ls"})
    page.goto(f"{room.url}/demo#code={room.code}")
    page.wait_for_selector("#lines li.step")
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
