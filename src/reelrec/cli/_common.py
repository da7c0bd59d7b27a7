"""Console objects and small helpers shared by the CLI command modules."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(obj: Any) -> None:
    """Machine-readable output for ``--json``: one JSON document on stdout."""
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
