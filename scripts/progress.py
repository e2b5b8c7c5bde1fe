"""Progress of a long build, per stage (rows done, rate), on a terminal only: CI logs stay quiet."""
import os
import sys
import time
from contextlib import contextmanager

EVERY = 1 << 16  # rows between two updates of the same line


class Progress:
    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() and not os.environ.get("CI")
        self.enabled = enabled
        self.timings = {}  # stage → seconds, kept whether shown or not (bench/run.py reports them)
        self.peaks = {}  # helper process → its peak RSS in MB

    def say(self, text: str, end: str = "\n") -> None:
        if self.enabled:
            self.stream.write(f"\r\033[K{text}{end}")
            self.stream.flush()

    def count(self, label: str, items):
        """The items, unchanged; on a terminal, a running count and rate every EVERY items."""
        return self._counting(label, items) if self.enabled else items

    def _counting(self, label: str, items):
        began, n = time.perf_counter(), 0
        for n, item in enumerate(items, 1):
            if n % EVERY == 0:
                self.say(f"{label}: {n:,} rows, {n / (time.perf_counter() - began):,.0f} rows/s", end="")
            yield item
        seconds = time.perf_counter() - began
        self.say(f"{label}: {n:,} rows in {seconds:.1f} s ({n / seconds if seconds else 0:,.0f} rows/s)")

    @contextmanager
    def stage(self, label: str, show: bool = True):
        """Time a stage (adding up repeats of one label); show: say when it starts and how long it took."""
        began = time.perf_counter()
        if show:
            self.say(f"{label} …", end="")
        yield
        seconds = time.perf_counter() - began
        self.timings[label] = self.timings.get(label, 0) + seconds
        if show:
            self.say(f"{label}: {seconds:.1f} s")
