"""Builds the typer app and turns reelrec's errors into one clear line and a non-zero exit."""

from __future__ import annotations

import sys
import warnings

import typer
from rich.markup import escape

from reelrec.cli import _bench, _data, _events, _models, _serve, _synth, _tune
from reelrec.cli._common import err_console
from reelrec.errors import ReelrecError


def _hide_flag_types() -> None:
    """Show flags (``--json``, ``--help``) without a ``<bool>`` type: they take no value (issue 13).

    typer's rich help prints every option's type, flags included; an explicit metavar is the one
    thing it prints instead, so flags get an empty one when their help is rendered.
    """
    from typer.core import TyperOption

    show_type = getattr(TyperOption, "display_type_rich", None)
    if show_type is None or getattr(show_type, "_reelrec", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return "" if self.is_flag and self.metavar is None else show_type(self, ctx)

    display_type_rich._reelrec = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign,assignment]  # typer re-exports click's Context under two names


_hide_flag_types()

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


for module in (_data, _synth, _models, _serve, _events, _bench, _tune):
    module.register(app)


@app.command()
def version() -> None:
    """Print reelrec's version.

    Example: reelrec version
    """
    from reelrec import __version__

    print(__version__)


def _one_line_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """Warnings as ``warning: ...`` on stderr: a user needs the message, not reelrec's source path."""
    err_console.print(f"[yellow]warning:[/] {message} ({category.__name__})", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: expected errors become ``error: ...`` and exit status 2."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
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
        err_console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:
        # Usage errors from typer's command-line parser carry their own message and exit code.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise
