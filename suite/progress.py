"""Progress on stderr: a bar on a terminal, timestamped lines in logs, or nothing.

``auto`` picks the bar when stderr is a terminal and log lines otherwise (a bar's carriage
returns make a log file unreadable). Both show architectures/s and the time left; the rate
counts only architectures scored in this session, so a resumed run does not look faster than it is.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

MODES = ("auto", "bar", "log", "none")


class Progress:
    """Counts scored architectures out of ``total`` (``done`` of them already journaled).

    Args:
        total: architectures x snapshot labels to score in the run.
        done: how many of them a resumed journal already holds.
        desc: what is being scored.
        mode: one of MODES.
        log_every: seconds between log lines (log mode).
        unit: what is counted ("arch"; training counts "step").
    """

    def __init__(self, total: int, done: int = 0, desc: str = "", mode: str = "auto", log_every: float = 30.0,
                 unit: str = "arch") -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.total, self.done, self.desc = mode, total, done, desc
        self._start_done, self._start = done, time.monotonic()
        self._log_every, self._last_log = log_every, self._start
        self._bar, self.unit = None, unit
        if done and mode != "none":
            self._line(f"resuming: {done}/{total} already in the journal" if unit == "arch"
                       else f"resuming at {unit} {done}/{total} from the checkpoint")
        elif mode == "log":
            self._line(f"scoring {total} architectures" if unit == "arch" else f"{total} {unit}s to run")
        if mode == "bar":
            self._bar = tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True, leave=False,
                             smoothing=0.1)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log":
            now = time.monotonic()
            if now - self._last_log >= self._log_every or self.done >= self.total:
                self._last_log = now
                self._line(self.status())

    def rate(self) -> float:
        """Units (architectures, steps) per second done in this session."""
        elapsed = time.monotonic() - self._start
        return (self.done - self._start_done) / elapsed if elapsed > 0 else 0.0

    def status(self) -> str:
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "?" if left == float("inf") else _duration(left)
        return f"{self.done}/{self.total} {self.unit}s, {rate:.2f} {self.unit}s/s, ETA {eta}"

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {self.desc}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
