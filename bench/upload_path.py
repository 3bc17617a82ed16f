"""CPU time per MB of the upload path inside the server, one upload on one core (no HTTP framework around it).

Usage: python -m bench.upload_path [--size-mb 64] [--reps 5]

A client thread sends one multipart body (``socket.sendfile``) over a socketpair; the measured
thread reads it the way a request under gunicorn does — gunicorn's own ``Body`` /
``LengthReader`` / ``SocketUnreader`` wrapped in Werkzeug's ``LimitedStream`` (what
``wsgi.input`` is) — and writes the file part to a temp file. ``time.thread_time()`` of that
thread, per MB, best of ``--reps``, for:

* the floor: ``recv_into`` straight from the socket and unbuffered writes, no gunicorn, no parser;
* gunicorn's reader alone, read sizes 64 KiB to 1 MiB, with the writes;
* Werkzeug's multipart parser over gunicorn's reader (``clipzy.api.uploads``' :class:`ReadAhead`,
  ``PARSE_STEP_BYTES`` decoder steps) at several read sizes, and Werkzeug's default (64 KiB
  reads, no read-ahead);
* the same parser over :class:`GunicornDirectBody` (the body read straight from the socket):
  what the app runs for a body with a ``Content-Length``.

CPU time, not wall time, so a busy machine changes the numbers less (it still does: run it twice).
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gunicorn.http.body import Body, LengthReader  # noqa: E402
from gunicorn.http.unreader import SocketUnreader  # noqa: E402
from werkzeug.formparser import MultiPartParser  # noqa: E402
from werkzeug.wsgi import LimitedStream  # noqa: E402

from clipzy.api import uploads  # noqa: E402

BOUNDARY = b"----clipzy-bench-boundary"
HEAD = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n")
TAIL = b"\r\n--" + BOUNDARY + b"--\r\n"
KiB = 1024

Reader = Callable[[LimitedStream, socket.socket, int, str], None]


def floor(stream: LimitedStream, sock: socket.socket, total: int, out: str) -> None:
    """recv_into from the socket itself and unbuffered writes (the whole body, no parsing)."""
    buf = bytearray(1024 * KiB)
    view = memoryview(buf)
    with open(out, "wb", buffering=0) as fh:
        left = total
        while left and (n := sock.recv_into(buf, min(left, len(buf)))):
            fh.write(view[:n])
            left -= n


def gunicorn_reads(size: int) -> Reader:
    """``wsgi.input.readinto`` of ``size`` bytes at a time, written as they come (no parsing)."""
    def read(stream: LimitedStream, sock: socket.socket, total: int, out: str) -> None:
        buf = bytearray(size)
        view = memoryview(buf)
        with open(out, "wb", buffering=0) as fh:
            while n := stream.readinto(buf):
                fh.write(view[:n])
    return read


def werkzeug(read_size: int | None, step: int, *, direct: bool = False) -> Reader:
    """Werkzeug's multipart parser in ``step`` steps, over a ReadAhead of ``read_size`` (None: the bare stream);
    ``direct``: the body read through :class:`GunicornDirectBody`."""
    def read(stream: LimitedStream, sock: socket.socket, total: int, out: str) -> None:
        if direct:
            stream = uploads.GunicornDirectBody.wrap(stream)
            assert isinstance(stream._stream, uploads.GunicornDirectBody), "gunicorn's reader is not the expected one"
        with open(out, "wb", buffering=0) as fh:
            parser = MultiPartParser(stream_factory=lambda *a, **k: fh, max_form_memory_size=4 * 1024 * KiB,
                                     buffer_size=step)
            src = uploads.ReadAhead(stream, read_size) if read_size else stream
            parser.parse(src, BOUNDARY, total)
    return read


def cpu_ms_per_mb(reader: Reader, source: Path, reps: int, folder: Path) -> float:
    """Best-of-``reps`` CPU milliseconds per MB of the body for ``reader``."""
    size = source.stat().st_size
    total = len(HEAD) + size + len(TAIL)
    best = float("inf")
    for _ in range(reps):
        a, b = socket.socketpair()

        def send() -> None:
            a.sendall(HEAD)
            with open(source, "rb") as fh:
                a.sendfile(fh)
            a.sendall(TAIL)

        sender = threading.Thread(target=send)
        sender.start()
        stream = LimitedStream(Body(LengthReader(SocketUnreader(b), total)), total)
        out = folder / "out.bin"
        start = time.thread_time()
        reader(stream, b, total, str(out))
        cpu = time.thread_time() - start
        sender.join()
        a.close()
        b.close()
        got = out.stat().st_size
        if got not in (size, total):
            raise AssertionError(f"wrote {got} bytes of {size}")
        out.unlink()
        best = min(best, cpu)
    return best * 1000 / (total / 1e6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=64.0, help="size of the file part, MB")
    ap.add_argument("--reps", type=int, default=5, help="runs per variant (the best counts)")
    args = ap.parse_args(argv)
    rows: list[tuple[str, Reader]] = [("floor: socket recv_into + write, no gunicorn, no parsing", floor)]
    rows += [(f"gunicorn wsgi.input.readinto {s} KiB + write, no parsing", gunicorn_reads(s * KiB))
             for s in (64, 256, 1024)]
    rows += [("Werkzeug default: 64 KiB reads and steps, no read-ahead", werkzeug(None, 64 * KiB))]
    rows += [(f"gunicorn reader, ReadAhead {r} KiB reads, {uploads.PARSE_STEP_BYTES // KiB} KiB steps"
              + ("  <- chunked bodies" if r * KiB == uploads.UPLOAD_READ_BYTES else ""),
              werkzeug(r * KiB, uploads.PARSE_STEP_BYTES)) for r in (128, 256, 512, 1024)]
    rows += [(f"GunicornDirectBody, ReadAhead {r} KiB reads, {uploads.PARSE_STEP_BYTES // KiB} KiB steps"
              + ("  <- clipzy.api.uploads" if r * KiB == uploads.DIRECT_READ_BYTES else ""),
              werkzeug(r * KiB, uploads.PARSE_STEP_BYTES, direct=True)) for r in (256, 1024)]
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        folder = Path(tmp)
        source = folder / "part.bin"
        with open(source, "wb") as fh:
            fh.write(os.urandom(int(args.size_mb * 1e6)))
        width = max(len(name) for name, _ in rows)
        print(f"{'upload path (one upload, one core)':<{width}}  CPU ms per MB  (MB/s on one core)")
        print("-" * (width + 34))
        for name, reader in rows:
            ms = cpu_ms_per_mb(reader, source, args.reps, folder)
            print(f"{name:<{width}}  {ms:13.2f}  ({1000 / ms:.0f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
