"""A one-line text progress bar, redrawn in place with ``\\r`` (what ``train`` draws on stderr)."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from ..nn.training import loss_text


class ProgressBar:
    """``[#####.....] count/total  loss L``, redrawn at most every ``min_interval`` seconds
    (``L`` at one width: :func:`~micrograd_mlp.nn.training.loss_text`).

    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(4, stream=out, width=8, min_interval=0.0)
    >>> for _ in range(4):
    ...     bar.update(loss=0.5)
    >>> bar.close()
    >>> out.getvalue().splitlines()[-1].split("\\r")[-1]
    '[########] 4/4  loss   0.5000000000'

    With ``show_time=True`` (what ``train`` uses) the line also shows the elapsed time and an
    estimate of the time left, ``12.3s<4.1s``.
    """

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30,
                 min_interval: float = 0.1, show_time: bool = False) -> None:
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.show_time = show_time
        self.count = 0
        self._loss: float | None = None
        self._last_draw = -math.inf
        self._start = time.monotonic()
        self._shown = 0  # longest line drawn (what clear() blanks)

    def update(self, n: int = 1, loss: float | None = None) -> None:
        """Advance by ``n`` steps; ``loss`` is shown beside the bar."""
        self.count = min(self.count + n, self.total)
        if loss is not None:
            self._loss = loss
        now = time.monotonic()
        if self.count == self.total or now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self._draw()

    def clear(self) -> None:
        """Blank the bar's line (before printing something else to the same terminal)."""
        self.stream.write("\r" + " " * self._shown + "\r")
        self.stream.flush()
        self._last_draw = -math.inf

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        filled = self.width * self.count // self.total
        bar = "#" * filled + "." * (self.width - filled)
        loss = "" if self._loss is None else f"  loss {loss_text(self._loss)}"
        timing = ""
        if self.show_time and self.count:
            elapsed = time.monotonic() - self._start
            left = elapsed / self.count * (self.total - self.count)
            timing = f"  {elapsed:.1f}s<{left:.1f}s"
        line = f"[{bar}] {self.count}/{self.total}{loss}{timing}"
        # a line shorter than one drawn before (the time left shrinks) is padded over its tail
        line, self._shown = line.ljust(self._shown), max(self._shown, len(line))
        self.stream.write("\r" + line)
        self.stream.flush()
