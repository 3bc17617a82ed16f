"""Cooperative progress, cancellation and deadlines for long engine work.

Every long engine function takes ``control: Control | None``. It calls
``control.check()`` between frame batches (raising :class:`Cancelled` or
:class:`DeadlineExceeded`) and ``control.progress(fraction)`` with a fraction in
[0, 1] of *its own* work. A caller that runs several steps hands each one a
``control.span(lo, hi)`` so that the step's 0..1 lands inside ``lo..hi`` of the
parent. Nothing here injects exceptions into threads: work stops only where it
checks.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from .errors import Cancelled, DeadlineExceeded

ProgressFn = Callable[[float], None]


class Control:
    """Progress sink, cancel flag and deadline shared by one piece of work.

    ``on_progress`` receives fractions in [0, 1]; they are clamped and made
    monotonic here so callers may report loosely. ``deadline`` is a
    ``time.monotonic()`` value in seconds, or None for no limit.
    """

    def __init__(
        self,
        on_progress: ProgressFn | None = None,
        cancel_event: threading.Event | None = None,
        deadline: float | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self._on_progress = on_progress
        self.cancel_event = cancel_event or threading.Event()
        self.deadline = deadline
        self._is_cancelled = is_cancelled
        self._last = 0.0

    # -- cancellation -------------------------------------------------
    def cancel(self) -> None:
        """Ask the work to stop at its next ``check()``."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        if self.cancel_event.is_set():
            return True
        if self._is_cancelled is not None and self._is_cancelled():
            self.cancel_event.set()
            return True
        return False

    def check(self) -> None:
        """Raise :class:`Cancelled` or :class:`DeadlineExceeded` if the work must stop."""
        if self.cancelled:
            raise Cancelled("cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("processing time limit exceeded")

    # -- progress -----------------------------------------------------
    def progress(self, fraction: float) -> None:
        """Report that ``fraction`` (0..1) of this work is done (monotonic, clamped)."""
        f = min(1.0, max(0.0, float(fraction)))
        if f < self._last:
            return
        self._last = f
        if self._on_progress is not None:
            self._on_progress(f)

    def span(self, lo: float, hi: float) -> "Control":
        """A child control whose 0..1 maps onto ``lo..hi`` of this one."""
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"span must satisfy 0 <= lo <= hi <= 1, got {lo}, {hi}")
        parent = self

        def forward(f: float) -> None:
            parent.progress(lo + (hi - lo) * f)

        child = Control(forward, self.cancel_event, self.deadline, self._is_cancelled)
        return child


def ensure(control: Control | None) -> Control:
    """``control`` itself, or a fresh no-op Control when None."""
    return control if control is not None else Control()
