"""A self-contained HTML page: inline CSS, images as base64 PNG data URIs, no scripts, no links out."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import polars as pl

from reelrec.bench._table import Column, table_cells

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
header { background: #0b2545; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .85; }
nav { padding: 8px 32px; background: #eef2f7; border-bottom: 1px solid #d5dde8; }
nav a { margin-right: 14px; color: #0b2545; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1400px; }
section { margin-top: 26px; }
h2 { font-size: 18px; border-bottom: 1px solid #d5dde8; padding-bottom: 4px; }
p.how { color: #444; max-width: 900px; }
p.note { color: #0b2545; background: #eef2f7; padding: 8px 12px; border-left: 3px solid #5b7db1; }
p.missing { color: #8a5a00; background: #fff6e0; padding: 8px 12px; border-left: 3px solid #e6a700; }
img { max-width: 100%; height: auto; display: block; margin: 10px 0; border: 1px solid #eee; }
div.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 12.5px; margin: 8px 0; }
th, td { border: 1px solid #d5dde8; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef2f7; }
td.best { font-weight: 700; background: #e3f4e8; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
.small { font-size: 12px; color: #555; }
"""


@dataclass
class Section:
    """One titled part of the report: explanatory text, images, tables, or why it is missing."""

    id: str
    title: str
    how_to_read: str
    blocks: list[str] = field(default_factory=list)
    missing: str | None = None

    def add_image(self, png: bytes, alt: str) -> None:
        """Embed ``png`` as a ``data:image/png;base64`` URI."""
        data = base64.b64encode(png).decode("ascii")
        self.blocks.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">')

    def add_html(self, fragment: str) -> None:
        """Add trusted markup built by this package (callers escape user text)."""
        self.blocks.append(fragment)

    def add_text(self, text: str, css: str = "") -> None:
        cls = f' class="{css}"' if css else ""
        self.blocks.append(f"<p{cls}>{html.escape(text)}</p>")

    def render(self) -> str:
        parts = [f'<section id="{self.id}">', f"<h2>{html.escape(self.title)}</h2>"]
        parts.append(f'<p class="how">{html.escape(self.how_to_read)}</p>')
        parts.extend(self.blocks)
        if self.missing:
            parts.append(f'<p class="missing">Not available: {html.escape(self.missing)}</p>')
        parts.append("</section>")
        return "\n".join(parts)


def table_html(header: list[str], rows: list[list[tuple[str, bool]]]) -> str:
    """An HTML table; cells flagged ``True`` get the ``best`` class."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="best">{html.escape(text)}</td>' if best else f"<td>{html.escape(text)}</td>"
            for text, best in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def page(title: str, subtitle: str, sections: list[Section], footer: str) -> str:
    """The whole document."""
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n"
        f'<p class="small">{html.escape(footer)}</p>\n</main>\n</body>\n</html>\n'
    )


def summary_table(summary: pl.DataFrame, cols: list[Column]) -> str:
    """One row per model, mean ± std cells, the best of each column highlighted."""
    header = ["model", *(f"{c.header} {c.arrow}".rstrip() for c in cols)]
    rows = [
        [(model, False), *cells]
        for model, cells in zip(summary["model"].to_list(), table_cells(summary, cols), strict=True)
    ]
    return table_html(header, rows)
