"""The projector's join page (/join) in Debian's chromium, headless: the learners' line in large
type, its QR code decodes (zxing-cpp, from a screenshot) to exactly that line, and no secret is
anywhere on the page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

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
    yield opened
    context.close()


def decoded(png: bytes) -> list[str]:
    """The texts of the QR codes in a screenshot."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.QRCode)]


def test_the_join_page_shows_the_line_and_its_qr_code_and_no_secret(make_server, page, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    [line] = server.lines
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{server.url}/join")

    shown = page.inner_text(".join-line pre")
    assert shown == line
    size = page.eval_on_selector(
        ".join-line pre code", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 28  # large type, read from the back of the room

    png = page.locator(".qr-box svg").screenshot(path=str(tmp_path / "qr.png"))
    assert decoded(png) == [line]
    whole = page.screenshot(path=str(tmp_path / "join.png"), full_page=True)
    assert decoded(whole) == [line]

    html = page.content()
    assert server.secret not in html and "#key=" not in html and "instructor" not in html.lower()
    assert server.code in html  # the learners' own code is the point of the page
    assert all(url.startswith(server.url) for url in asked), asked  # nothing from elsewhere
    assert server.secret not in page.url


def test_several_lines_each_have_their_own_code(make_server, page, tmp_path):
    server = make_server(
        f"sqlite:///{tmp_path / 'room.sqlite3'}", "--url", "http://room.example.org:8765"
    )
    page.goto(f"{server.url}/join")
    [line] = server.lines
    assert "room.example.org" in line
    assert decoded(page.screenshot(full_page=True)) == [line]


def test_each_of_several_lines_has_its_own_code(page):
    """serve gives the page a line per address: each is shown, each with a code of its own."""
    from workshop.classroom import joinpage

    lines = [
        "workshop join http://192.168.1.20:8765 K7QX-2M9P --name NAME",
        "workshop join http://10.0.0.5:8765 K7QX-2M9P --name NAME",
    ]
    page.set_content(joinpage.render(lines))
    assert page.locator(".join-line pre").all_inner_texts() == lines
    for n, line in enumerate(lines):
        assert decoded(page.locator(".qr-box svg").nth(n).screenshot()) == [line]


def test_the_qr_code_is_segnos_own_for_the_line():
    """The SVG itself, without a browser: segno's matrix for the line, drawn dark on light."""
    import segno

    from workshop.classroom import joinpage

    line = "workshop join http://10.0.0.5:8765 K7QX-2M9P --name NAME"
    svg = joinpage.qr_svg(line)
    assert svg.startswith("<svg") and 'class="qr"' in svg and "viewBox" in svg
    assert svg == segno.make(line, error="m", boost_error=False).svg_inline(
        scale=6, border=4, dark="#000", light="#fff", svgclass="qr", omitsize=True
    )
    assert "<script" not in joinpage.render([line])
    assert Path(joinpage.__file__).parent.joinpath("static", "join.css").is_file()
