"""Peak resident-memory growth of this process while a block of code runs (model fitting)."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _read_hwm() -> int | None:
    """The kernel's resident high-water mark (``VmHWM``) in bytes, or ``None`` off Linux."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0: write ``5`` to ``clear_refs``)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _read_hwm() is not None


class PeakRSS:
    """Context manager measuring how far this process's RSS rose above its level at entry.

    A background thread samples the RSS with psutil every ``interval`` seconds; on Linux the
    kernel's high-water mark is also reset at entry and read at exit, so spikes shorter than the
    sampling interval are still caught. Memory freed by earlier code and reused inside the block
    is not counted, so the figure is a lower bound on what the block needs from a fresh process.

    Attributes
    ----------
    peak_bytes : int
        Peak RSS growth over the entry level, in bytes (0 if memory only shrank).
    method : str
        How the peak was measured, for table headers.
    """

    def __init__(self, interval: float = 0.01) -> None:
        if interval <= 0:
            raise ValueError(f"interval={interval}, must be > 0")
        self.interval = interval
        self.peak_bytes = 0
        self.method = f"psutil RSS sampling every {interval * 1000:g} ms"
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._baseline = 0
        self._sampled_peak = 0
        self._use_hwm = False

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self._proc.memory_info().rss
            if rss > self._sampled_peak:
                self._sampled_peak = rss

    def __enter__(self) -> Self:
        gc.collect()
        self._use_hwm = _reset_hwm()
        self._baseline = self._proc.memory_info().rss
        self._sampled_peak = self._baseline
        if self._use_hwm:
            self.method = "kernel RSS high-water mark (VmHWM) reset per fit, plus psutil sampling"
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="reelrec-peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        peak = max(self._sampled_peak, self._proc.memory_info().rss)
        if self._use_hwm:
            hwm = _read_hwm()
            if hwm is not None:
                peak = max(peak, hwm)
        self.peak_bytes = max(0, peak - self._baseline)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20
