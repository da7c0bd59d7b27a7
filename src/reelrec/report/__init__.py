"""Self-contained HTML reports of benchmarks and trained models (matplotlib plots embedded as PNG)."""

from reelrec._extras import require_extra

# Before the plotting modules pull in matplotlib: one line naming the extra, not an import traceback.
require_extra("report", "the HTML report (reelrec.report)")

from reelrec.report._render import SECTION_IDS, build_sections, render_report  # noqa: E402
from reelrec.report._sources import load_source  # noqa: E402

__all__ = ["SECTION_IDS", "build_sections", "load_source", "render_report"]
