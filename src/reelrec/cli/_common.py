"""Console objects and small helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Piped output (logs, CI) gets a wide console so metric tables are not squeezed to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


def print_json(obj: Any) -> None:
    """Machine-readable output for ``--json``: one JSON document on stdout."""
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


def param_value(raw: str) -> Any:
    """A ``--param`` value: read as JSON when it parses (numbers, lists, booleans), else kept as text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
