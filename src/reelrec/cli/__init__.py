"""The ``reelrec`` command-line interface (typer); one module per group of commands."""

from reelrec.cli._app import app, main

__all__ = ["app", "main"]
