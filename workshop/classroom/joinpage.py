"""The projector's join page (`/join`): each learners' line in large type and as a QR code.

Rendered on the server (segno draws the QR code as inline SVG; no script, no CDN). Only the
lines `serve` gives it are shown: they carry the join code, never the instructor's secret.
"""

from __future__ import annotations

from html import escape

NO_LINE = (
    "No join line to show: the server was started without one (see the output of "
    "`workshop classroom serve`)."
)


def qr_svg(text: str) -> str:
    """The QR code of `text` as inline SVG (error correction M: readable from the back row),
    dark on white whatever the page's colours; "" without segno."""
    try:
        import segno
    except ImportError:  # the server's extra installed without it: the line alone still works
        return ""
    code = segno.make(text, error="m", boost_error=False)
    return code.svg_inline(
        scale=6, border=4, dark="#000", light="#fff", svgclass="qr", omitsize=True
    )


def _words(line: str) -> str:
    """The line with each word kept whole: a wrap falls between words, never inside the code
    or the address (a break after the code's dash reads as two words)."""
    return " ".join(f"<span>{escape(word)}</span>" for word in line.split(" "))


def _block(line: str) -> str:
    svg = qr_svg(line)
    qr = (
        f'<div class="qr-box" role="img" aria-label="QR code of this line">{svg}</div>\n'
        if svg
        else ""
    )
    return f'<figure class="join-line">\n<pre><code>{_words(line)}</code></pre>\n{qr}</figure>'


def render(lines: list[str]) -> str:
    if lines:
        intro = (
            "Paste this line in your terminal, with your own name for NAME:"
            if len(lines) == 1
            else "Paste one of these lines in your terminal (the first that works from your "
            "network), with your own name for NAME:"
        )
        blocks = "\n".join(_block(line) for line in lines)
    else:
        intro, blocks = NO_LINE, ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join the classroom</title>
<link rel="stylesheet" href="/static/join.css">
</head>
<body class="join">
<main>
<h1>Join the classroom</h1>
<p class="intro">{escape(intro)}</p>
{blocks}
<p class="after">Then run <code>workshop next</code>. Your name, steps and mistakes are sent to
the room; nothing you type, no file of yours. <code>workshop leave</code> stops it.</p>
</main>
</body>
</html>
"""
