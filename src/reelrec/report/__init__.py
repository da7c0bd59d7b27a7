"""Self-contained HTML reports of benchmarks and trained models (matplotlib plots embedded as PNG)."""

from reelrec.report._render import SECTION_IDS, build_sections, render_report
from reelrec.report._sources import load_source

__all__ = ["SECTION_IDS", "build_sections", "load_source", "render_report"]
