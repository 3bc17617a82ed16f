"""Run a command as a user would and measure it: wall time, CPU time, peak memory of its process tree.

:func:`run_measured` starts the command, samples the resident memory (RSS, from
``/proc/<pid>/status``) of the process and all its descendants every ``interval_s`` and
keeps the largest sum; CPU time is the user + system time of the process and the children
it waited for (``os.wait4``). :func:`load_average` reads ``/proc/loadavg`` so every table can
say how busy the shared machine was.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from procs import rss_kib  # noqa: E402  (the tests' /proc reader)

MIB = 1024 * 1024


@dataclass
class Measured:
    """One measured run: seconds of wall and CPU time, peak RSS of the process tree (MiB)."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    returncode: int
    stdout: str = ""
    stderr: str = ""
    rss_trace_mib: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return out


def tree_rss_mib(pid: int) -> float:
    """RSS of ``pid`` and all its descendants, in MiB."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += rss_kib(p)[0]
        todo.extend(children(p))
    return total / 1024.0


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages of the machine."""
    with open("/proc/loadavg") as fh:
        a, b, c = fh.read().split()[:3]
    return float(a), float(b), float(c)


def run_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
                 interval_s: float = 0.05) -> Measured:
    """Run ``cmd`` to completion; returns its :class:`Measured` (stdout/stderr captured as text)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    peak = [0.0]
    trace: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            mib = tree_rss_mib(p.pid)
            peak[0] = max(peak[0], mib)
            trace.append((time.perf_counter() - t0, mib))
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out: list[bytes] = []
    err_reader = threading.Thread(target=lambda: out.append(p.stderr.read()), daemon=True)
    err_reader.start()
    stdout = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    err_reader.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    # the kernel's own high-water mark of the biggest process, in case sampling missed a spike
    peak_mib = max(peak[0], ru.ru_maxrss / 1024.0)
    return Measured(wall, ru.ru_utime + ru.ru_stime, peak_mib, p.returncode, stdout.decode(errors="replace"),
                    (out[0] if out else b"").decode(errors="replace"), trace)
