"""Downloads against a real HTTP server on 127.0.0.1: resume after a cut, retries, checksums, unpacking."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reelrec.data import DATASETS, download_dataset, load_dataset
from reelrec.data._download import DownloadError
from tests.data.test_movielens import write_tiny

pytestmark = pytest.mark.filterwarnings("ignore:.*match no rating.*:reelrec.errors.DataWarning")


def ml_archive(tmp_path) -> bytes:
    """A small ml-100k.zip look-alike (a few hundred KB of padding makes cuts land mid-file)."""
    folder = write_tiny(tmp_path / "src" / "ml-100k")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"ml-100k/{path.name}")
        zf.writestr("ml-100k/README", "x" * 300_000)
    return buffer.getvalue()


class Server:
    """Serves one payload with HTTP Range support; can cut the first transfers short or fail them."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.cut_after: list[int] = []  # per request, in order: bytes to send before dropping the connection
        self.fail_with: list[int] = []  # per request, in order: status codes to answer instead
        self.honour_range = True
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.ranges.append(self.headers.get("Range"))
                if server.fail_with:
                    self.send_error(server.fail_with.pop(0))
                    return
                body, start = server.payload, 0
                header = self.headers.get("Range")
                if header and server.honour_range:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:]
                if server.cut_after:
                    chunk = chunk[: server.cut_after.pop(0)]
                    self.close_connection = True
                self.wfile.write(chunk)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ml-100k.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def payload(tmp_path) -> bytes:
    return ml_archive(tmp_path)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def fetch(server: Server, dest, payload: bytes, **options):
    options.setdefault("md5", md5(payload))
    options.setdefault("size", len(payload))
    return download_dataset("movielens-100k", dest, url=server.url, backoff=0.0, timeout=10, **options)


def test_download_verify_unpack_and_load(tmp_path, payload):
    seen = []
    with Server(payload) as server:
        folder = fetch(server, tmp_path / "d", payload, progress=lambda done, total: seen.append((done, total)))
    assert folder == tmp_path / "d" / "ml-100k"
    assert (tmp_path / "d" / "ml-100k.zip").read_bytes() == payload
    assert not (tmp_path / "d" / "ml-100k.zip.part").exists()
    assert seen[-1] == (len(payload), len(payload))
    assert len(load_dataset(folder).interactions) == 3


def test_resumes_after_an_interrupted_transfer(tmp_path, payload):
    with Server(payload) as server:
        server.cut_after = [100_000]
        fetch(server, tmp_path, payload)
    assert server.ranges == [None, "bytes=100000-"]
    assert (tmp_path / "ml-100k.zip").read_bytes() == payload


def test_a_part_file_from_an_earlier_run_is_resumed(tmp_path, payload):
    (tmp_path / "ml-100k.zip.part").write_bytes(payload[:12_345])
    with Server(payload) as server:
        fetch(server, tmp_path, payload, unpack=False)
    assert server.ranges == ["bytes=12345-"]
    assert (tmp_path / "ml-100k.zip").read_bytes() == payload


def test_server_ignoring_range_restarts_cleanly(tmp_path, payload):
    (tmp_path / "ml-100k.zip.part").write_bytes(payload[:5_000])
    with Server(payload) as server:
        server.honour_range = False
        fetch(server, tmp_path, payload, unpack=False)
    assert (tmp_path / "ml-100k.zip").read_bytes() == payload


def test_transient_errors_are_retried(tmp_path, payload):
    with Server(payload) as server:
        server.fail_with = [503, 500]
        fetch(server, tmp_path, payload, unpack=False)
    assert len(server.ranges) == 3


def test_gives_up_after_the_retries_and_keeps_the_part(tmp_path, payload):
    with Server(payload) as server:
        server.cut_after = [1000, 1000, 1000]
        with pytest.raises(DownloadError, match=r"failed after 3 attempts.*3000 bytes kept in .*ml-100k\.zip\.part"):
            fetch(server, tmp_path, payload, retries=3)
    assert (tmp_path / "ml-100k.zip.part").read_bytes() == payload[:3000]


def test_checksum_mismatch_deletes_the_download(tmp_path, payload):
    with Server(payload) as server, pytest.raises(DownloadError, match=r"md5 [0-9a-f]{32}, expected 0{32}"):
        fetch(server, tmp_path, payload, md5="0" * 32)
    assert not list(tmp_path.glob("ml-100k.zip*"))


def test_size_announced_by_the_server_must_match(tmp_path, payload):
    with Server(payload) as server, pytest.raises(DownloadError, match=rf"announces {len(payload)} bytes, expected 7"):
        fetch(server, tmp_path, payload, size=7)


def test_http_404_is_not_retried(tmp_path, payload):
    with Server(payload) as server:
        server.fail_with = [404]
        with pytest.raises(DownloadError, match="HTTP 404"):
            fetch(server, tmp_path, payload)
    assert len(server.ranges) == 1


def test_verified_file_is_not_downloaded_again(tmp_path, payload):
    with Server(payload) as server:
        fetch(server, tmp_path, payload)
        fetch(server, tmp_path, payload)
    assert len(server.ranges) == 1


def test_archive_escaping_the_destination_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../evil.txt", "x")
    bad = buffer.getvalue()
    with Server(bad) as server, pytest.raises(DownloadError, match="would be written outside"):
        fetch(server, tmp_path / "d", bad)
    assert not (tmp_path / "evil.txt").exists()


def test_known_records():
    assert DATASETS["kuairec"].md5 == "261550d472c48eff4990fb13c0e5bcf7"
    assert DATASETS["kuairec"].size == 431_964_858
    assert DATASETS["movielens-100k"].url.endswith("/ml-100k.zip")
    with pytest.raises(ValueError, match="unknown data set 'netflix'"):
        download_dataset("netflix")
