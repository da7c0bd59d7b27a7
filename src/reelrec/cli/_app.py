"""Builds the typer app and turns reelrec's errors into one clear line and a non-zero exit."""

from __future__ import annotations

import sys

import typer

from reelrec.cli import _bench, _data, _models, _serve, _synth, _tune
from reelrec.cli._common import err_console
from reelrec.errors import ReelrecError

app = typer.Typer(
    name="reelrec",
    help=(
        "reelrec: recommendations for short-video platforms.\n\n"
        "Example: reelrec synth data/kuairec --scale 0.05 && reelrec train data/kuairec --out art"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)



@app.callback()
def _root() -> None:
    """reelrec: recommendations for short-video platforms."""


for module in (_data, _synth, _models, _serve, _bench, _tune):
    module.register(app)


@app.command()
def version() -> None:
    """Print reelrec's version.

    Example: reelrec version
    """
    from reelrec import __version__

    print(__version__)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: expected errors become ``error: ...`` and exit status 2."""
    try:
        # Without standalone mode the parser returns typer.Exit's code instead of exiting with it.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except (ReelrecError, FileNotFoundError, KeyError, ValueError, TypeError, PermissionError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:
        # Usage errors from typer's command-line parser carry their own message and exit code.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise
