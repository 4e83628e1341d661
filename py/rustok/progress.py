"""Progress of a long command, on stderr: a bar redrawn in place on a terminal, plain lines anywhere else.

A log file, a pipe or CI gets no carriage return: a start line, a line each time another 10 % is done or
5 s have passed, and an end line with the time and the rate. Work reports through `Report` (done, total,
note) and never knows which of the two it feeds; `silent` reports nowhere.

Hand-written rather than rich or tqdm (measured, docs/cli.md): neither writes plain lines to a pipe —
tqdm writes its carriage returns there too (or nothing, with `disable=None`), rich prints the last bar
once at the end — so this half would be ours anyway, and the bar is a dozen lines."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, TextIO

STEP_PERCENT = 10  # plain lines: one each time another STEP_PERCENT is done …
STEP_SECONDS = 5.0  # … or this long after the last line, whichever comes first
REDRAW_SECONDS = 0.1  # a terminal's bar is redrawn at most this often
_BAR = 24


class Report(Protocol):
    """What long-running work calls as it goes: `done` of `total` units, and what it is at (`note`)."""

    def __call__(self, done: int, total: int, note: str = "") -> None: ...


def silent(done: int, total: int, note: str = "") -> None:
    """The `Report` of work nobody watches."""


def interactive(stream: TextIO) -> bool:
    """True on a terminal that redraws a line (not TERM=dumb)."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


class Progress:
    """A `Report` that shows itself: `with Progress("demo", "steps") as bar: work(progress=bar)`.

    The start line waits for the first report (work often learns its total only then); leaving the block
    writes the end line, or on an error just ends the bar's line so the error starts a line of its own."""

    def __init__(
        self,
        label: str,
        unit: str,
        stream: TextIO | None = None,
        *,
        redraw: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit = label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.redraw = interactive(self.stream) if redraw is None else redraw
        self.clock = clock
        self.done, self.total, self.note = 0, 0, ""
        self.started: float | None = None
        self._last_line = 0.0  # when the last plain line or redraw was written
        self._last_step = 0  # the last STEP_PERCENT multiple a plain line reported

    def __call__(self, done: int, total: int, note: str = "") -> None:
        now = self.clock()
        self.done, self.total, self.note = done, total, note or self.note
        if self.started is None:
            self.started = self._last_line = now
            if not self.redraw:
                self._write(f"{self.label}: started, {total:,} {self.unit}\n")
        if self.redraw:
            if now - self._last_line >= REDRAW_SECONDS or done >= total:
                self._last_line = now
                self._write(f"\r{self._fit(self._bar())}\x1b[K")
            return
        step = self._percent() // STEP_PERCENT
        if done < total and (step > self._last_step or now - self._last_line >= STEP_SECONDS):
            self._last_step, self._last_line = step, now
            self._write(f"{self.label}: {self._percent()}% ({done:,}/{total:,} {self.unit}){self._note(' ')}\n")

    def close(self) -> None:
        """The end line: what was done, in how long, how fast."""
        now = self.clock()
        if self.started is None:
            self.started = now
        seconds = now - self.started
        rate = f"{self.done / seconds:,.0f} {self.unit}/s" if seconds > 0 else "at once"
        summary = f"{self.done:,} {self.unit} in {seconds:.1f} s ({rate})"
        if self.redraw:
            full = "#" * _BAR
            self._write(f"\r{self._fit(f'{self.label} [{full}] {summary}')}\x1b[K\n")
        else:
            self._write(f"{self.label}: done, {summary}\n")

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        elif self.redraw and self.started is not None:
            self._write("\n")

    def _percent(self) -> int:
        return 100 if self.total <= 0 else min(100, 100 * self.done // self.total)

    def _bar(self) -> str:
        filled = _BAR * self._percent() // 100
        counts = f"{self._percent():3}% {self.done:,}/{self.total:,} {self.unit}"
        return f"{self.label} [{'#' * filled}{'.' * (_BAR - filled)}] {counts}{self._note('  ')}"

    def _note(self, space: str) -> str:
        return f"{space}{self.note}" if self.note else ""

    def _fit(self, line: str) -> str:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        columns = columns or shutil.get_terminal_size().columns  # a new pseudo-terminal reports 0
        return line[: max(20, columns - 1)]  # the last column would wrap on some terminals

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
