"""The HTML page: one self-contained file (styles inline, images as data: URIs,
no script, nothing fetched to view it) that reflows from a desktop down to a
390-pixel phone screen."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

# Wide content (the config, tables) scrolls inside its own box, so the page
# itself never scrolls sideways on a phone.
CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:12px}
h1{font-size:1.4em;margin:.4em 0 .2em}
h2{font-size:1.1em;margin:0 0 .4em}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px;margin:12px 0}
img{max-width:100%;height:auto;display:block}
img.pixels{image-rendering:pixelated}
.sections{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,500px),1fr));gap:0 12px;align-items:start}
.sections>section{min-width:0}
.sections>.wide{grid-column:1/-1}
figure{margin:0}
figcaption,.note{color:#57606a;font-size:.9em;margin-top:.3em}
.scroll{overflow-x:auto;max-width:100%}
summary{cursor:pointer;color:#0b5cad}
pre{margin:.4em 0 0;font-size:.82em;line-height:1.35}
table{border-collapse:collapse;font-size:.9em;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #eceff2;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #c9d1d9}
"""


@dataclass(frozen=True)
class Section:
    title: str
    body: str            # HTML
    wide: bool = False   # the page's whole width (else a column of two on a wide screen)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def image(png: bytes, alt: str, caption: str = "", pixels: bool = False) -> str:
    """An <img> holding the PNG itself (a data: URI), with a caption below.
    `pixels`: a grid of images, kept sharp (not blurred) where it is scaled."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    note = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    cls = ' class="pixels"' if pixels else ""
    return f'<figure><img{cls} src="{src}" alt="{esc(alt)}">{note}</figure>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def preformatted(text: str) -> str:
    return f'<div class="scroll"><pre>{esc(text)}</pre></div>'


def folded(summary: str, body: str) -> str:
    """Shown on a click (<details>: no script)."""
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def table(header: list[str], rows: list[list]) -> str:
    """Cells are already strings (numbers formatted by the caller)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def page(title: str, subtitle: str, sections: list[Section]) -> str:
    body = "".join(f'<section id="{esc(_anchor(s.title))}"{_WIDE if s.wide else ""}>'
                   f"<h2>{esc(s.title)}</h2>{s.body}</section>" for s in sections)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f'<body><main><h1>{esc(title)}</h1>{note(subtitle)}<div class="sections">{body}</div></main></body></html>\n')


_WIDE = ' class="wide"'


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
