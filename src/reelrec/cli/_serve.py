"""``reelrec serve``: run the HTTP service over a trained artifact (uvicorn, loopback by default)."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer

from reelrec.cli._common import err_console

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)


def serve(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0 picks a free one).")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    artifact_root: Annotated[
        Path | None,
        typer.Option("--artifact-root", help="Reloads may only name artifacts under this directory "
                     "(default: the parent of ART)."),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1024, help="Larger request bodies get 413.")
    ] = 1 << 20,
    retrieval: Annotated[
        str, typer.Option("--retrieval", help="auto, exact or ann (faiss) search over item embeddings.")
    ] = "auto",
    ann_nprobe: Annotated[int, typer.Option("--ann-nprobe", min=1, help="faiss cells scanned per query.")] = 128,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch/faiss threads per worker.")] = 1,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="Event store (SQLite file, created when missing): turns on POST /v1/events, "
                     "POST /v1/items and the live feed. Default: off."),
    ] = None,
    events_window: Annotated[
        int, typer.Option("--events-window", min=1, max=1000, help="A user's newest events read per recommendation "
                          "(their videos are not shown again).")
    ] = 200,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    max_per_tag: Annotated[
        int | None,
        typer.Option("--max-per-tag", min=1, help="Feed rule default: at most this many videos per first tag."),
    ] = None,
    explore_share: Annotated[
        float,
        typer.Option("--explore-share", min=0.0, max=1.0, help="Feed rule default: slot share for few-view videos."),
    ] = 0.0,
) -> None:
    """Serve recommendations over HTTP; the page is at / and the API schema at /openapi.json.

    Set REELREC_ADMIN_TOKEN to require `Authorization: Bearer <token>` on POST /v1/admin/reload.

    Example: reelrec serve art/tt --port 8000 --workers 2 --events feed.db
    """
    # Cheap checks first, so that a typo fails in a second rather than after importing torch.
    if retrieval not in ("auto", "exact", "ann"):
        raise ValueError(f"--retrieval={retrieval!r}, expected auto, exact or ann")
    mode: Literal["auto", "exact", "ann"] = retrieval  # type: ignore[assignment]
    if not artifact.is_dir():
        raise FileNotFoundError(f"{artifact}: no such artifact directory")
    if artifact_root is not None and not artifact_root.is_dir():
        raise FileNotFoundError(f"--artifact-root {artifact_root}: no such directory")
    root = (artifact_root or artifact.resolve().parent).resolve()
    if not artifact.resolve().is_relative_to(root):
        raise ValueError(f"{artifact} is not under --artifact-root {artifact_root}")

    from reelrec._extras import require_extra

    require_extra("serve", "reelrec serve")
    _check_port(host, port)

    import uvicorn

    from reelrec.serve.metrics import MULTIPROC_ENV
    from reelrec.serve.settings import SETTINGS_ENV, ServeSettings, admin_token

    _check_artifact(artifact)
    if events is not None:
        _check_events(events)
    settings = ServeSettings(
        artifact=artifact.resolve(),
        artifact_root=root,
        max_body_bytes=max_body_bytes,
        retrieval=mode,
        ann_nprobe=ann_nprobe,
        threads=threads,
        events=None if events is None else events.resolve(),
        events_window=events_window,
        feed_max_per_tag=max_per_tag,
        feed_explore_share=explore_share,
    )
    if host not in _LOOPBACK:
        guard = "a token (REELREC_ADMIN_TOKEN)" if admin_token() else "nothing: set REELREC_ADMIN_TOKEN"
        err_console.print(f"[yellow]warning:[/] listening on {host}; admin reload is protected by {guard}")
    signal_dir = None
    if workers > 1:
        # Workers are separate processes: a reload reaching one is relayed to the others through this file,
        # and their metrics are pooled in files beside it (prometheus_client's multiprocess mode).
        signal_dir = Path(tempfile.mkdtemp(prefix="reelrec-serve-"))
        settings = settings.model_copy(update={"reload_signal": signal_dir / "reload.json"})
        (signal_dir / "metrics").mkdir()
        os.environ[MULTIPROC_ENV] = str(signal_dir / "metrics")
    os.environ[SETTINGS_ENV] = settings.to_env()
    try:
        uvicorn.run(
            "reelrec.serve.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=access_log,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if signal_dir is not None:
            shutil.rmtree(signal_dir, ignore_errors=True)


def _check_port(host: str, port: int) -> None:
    """Fail with one line when the address cannot be listened on, rather than with uvicorn's log message."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"--port {port}: {host}:{port} is already in use; choose another port (--port 0 picks a free one)"
                ) from None
            raise ValueError(f"--host {host} --port {port}: cannot listen there ({exc.strerror})") from None


def _check_artifact(artifact: Path) -> None:
    """Load the artifact once here, so that one that cannot be built fails with one line (exit 2)
    before any worker starts, as ``recommend`` and ``/v1/admin/reload`` reject it (issue 13)."""
    from reelrec.artifacts import load_artifact
    from reelrec.errors import ArtifactError
    from reelrec.models import model_class

    try:
        load_artifact(artifact, model_class)
    except ArtifactError:
        raise
    except Exception as exc:  # the model's own state checks raise whatever they raise
        raise ArtifactError(f"{artifact}: cannot be loaded ({type(exc).__name__}: {exc})") from None


def _check_events(path: Path) -> None:
    """Open (or create) the event store once here, so a bad path fails in one line before workers start."""
    from reelrec.events import EventStore, StoreError

    if path.is_dir():
        raise ValueError(f"--events {path}: is a directory; expected a SQLite file (created when missing)")
    try:
        EventStore(path).close()
    except StoreError as exc:
        raise ValueError(f"--events {exc}") from None
