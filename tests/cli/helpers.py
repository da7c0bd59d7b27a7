"""Run the real CLI as a user would: in a subprocess, or in this process (faster, for error paths)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reelrec.cli import main


def run_cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m reelrec ARGS`` in a subprocess; ``env`` replaces the environment when given."""
    return subprocess.run(
        [sys.executable, "-m", "reelrec", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
    )


def run_in_process(capsys, *args) -> tuple[int, str, str]:
    """Run the CLI in this process; returns (exit status, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
