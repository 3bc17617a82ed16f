"""Streaming uploads: multipart file parts go straight to a temp file in the instance folder.

Werkzeug parses the multipart body in chunks and writes each file part to the stream
that ``_get_file_stream`` returns, so memory stays flat whatever the file size. The
temp file lives in ``instance/tmp`` (same file system as ``uploads/``, so the final
move is an atomic ``os.replace``) and is removed at the end of the request unless the
view moved it into place. ``MAX_CONTENT_LENGTH`` makes Werkzeug refuse an oversized
``Content-Length`` before reading, and cut off a chunked body while streaming.

A disk that fills up mid-upload (ENOSPC/EDQUOT) does not abort the request: the part's
temp file is emptied at once, the rest of the body is read and dropped, and the view
answers 503 SERVICE_UNAVAILABLE ("storage is full") with nothing kept.
"""
from __future__ import annotations

import errno
import io
import os
import socket
import tempfile
import threading

from flask import current_app, g
from flask.wrappers import Request
from werkzeug.formparser import FormDataParser, MultiPartParser

MULTIPART_SLACK_BYTES = 64 * 1024  # room for the multipart headers around the file
UPLOAD_READ_BYTES = 256 * 1024  # bytes asked of the WSGI server's input per read (gunicorn's own reader)
DIRECT_READ_BYTES = 1024 * 1024  # bytes one recv_into may bring when reading from gunicorn's socket
PARSE_STEP_BYTES = 1024 * 1024  # at most this many bytes handed to Werkzeug's multipart decoder per step
PARSE_SLOTS = 4  # uploads whose received bytes are parsed and written at the same time (per process)


class ReadAhead:
    """``read(n)`` over a request body: reads ``size`` bytes at a time (``UPLOAD_READ_BYTES``, or
    ``DIRECT_READ_BYTES`` from gunicorn's socket) into one reused buffer and hands out memoryview
    slices of it (at most ``n`` bytes each, no copy); with ``slots``, parses at most that many bodies at once.

    The sizes are measured: CPU time per MB of one upload on one core (``bench/upload_path.py``)
    and upload throughput beside busy threads (``bench/load.py``). Under gunicorn the body is read
    straight from the socket (:class:`GunicornDirectBody`): a read's size only sets how many bytes
    one ``recv_into`` may bring, and each decoder step ends in one ``write`` of the temp file.
    Every ``recv_into`` and every ``write`` gives the GIL away and must take it back, which beside
    the job pool's analysis threads costs up to the switch interval each time: 128 KiB steps held
    an upload to about 50 MB/s there, 1 MiB steps (about three GIL takes per MiB) do not. Where
    gunicorn's own reader is used (chunked bodies), reads stay at 256 KiB: it gathers each read
    in BytesIO buffers and slices them, and at 1 MiB that costs about five times the CPU. A slice
    is valid until the next ``read``; the decoder copies it into its own buffer at once. Limits
    and disconnects are the wrapped stream's own (Werkzeug's ``LimitedStream``: 413 past
    ``MAX_CONTENT_LENGTH``, ``ClientDisconnected``).
    """

    def __init__(self, stream, size: int = UPLOAD_READ_BYTES, slots: threading.Semaphore | None = None) -> None:
        self._stream = stream
        self._buf = bytearray(size)
        self._view = memoryview(self._buf)
        self._pos = self._end = 0
        self._slots = slots
        self._held = False

    def read(self, size: int) -> memoryview:
        """The next at most ``size`` bytes of the body; empty at its end.

        With ``slots``: one is held from the moment a read brings bytes until the next read
        from the socket, i.e. while the caller parses and writes them; none while waiting for
        the client."""
        if self._pos == self._end:
            self.release()
            self._end = self._stream.readinto(self._buf) or 0
            self._pos = 0
            if self._end and self._slots is not None:
                self._slots.acquire()
                self._held = True
        n = min(size, self._end - self._pos)
        self._pos += n
        return self._view[self._pos - n:self._pos]

    def release(self) -> None:
        """Give back the slot this body holds, if any (at the end of the body, or when parsing failed)."""
        if self._held:
            self._held = False
            self._slots.release()


# Parsing a multipart body holds the GIL (Werkzeug's decoder), and every socket read and file write
# hands it over and takes it back; the worker's other threads (status polls, the job pool) queue
# for it behind every upload in progress. Uploads beyond PARSE_SLOTS wait for a slot without the
# GIL and read nothing meanwhile (their bytes wait in the socket and in nginx's buffer). Measured
# with bench/load.py (20 uploads of 50 MB through nginx beside extract jobs, 2 cores): 2 slots
# cut the polls' p50 during uploads from about 140 to about 100 ms but held the uploads to about
# 110 MB/s; 4 kept both (about 100 ms, 140 MB/s); unlimited gave about 140 ms and 120 MB/s.
_PARSE_SLOTS = threading.BoundedSemaphore(PARSE_SLOTS)


class GunicornDirectBody:
    """``readinto`` for the body of a request gunicorn parsed with a ``Content-Length``: straight
    from the client socket into the caller's buffer.

    gunicorn's own reader (``Body`` over ``LengthReader`` over ``SocketUnreader``) gathers every
    read in ``BytesIO`` buffers and slices them: several copies of each byte and an allocation
    of up to 1 MiB per read, whose page faults (the allocator hands the memory back between
    reads) cost as much again. Profiled under bench/load.py's uploads (perf, one upload) that
    was about 40 % of the worker's CPU, all of it holding the GIL; read this way, what is left
    is the kernel's copies (``recv_into`` and the temp file's ``write``, both without the GIL).

    What gunicorn already holds is handed out first: what its ``Body`` kept from an earlier
    read, then what its unreader received beyond the headers — never more than the body's
    remaining length, so bytes of a pipelined next request stay where gunicorn expects them.
    The ``LengthReader``'s ``length`` goes down by every byte read, so gunicorn's
    ``finish_body`` and keep-alive see the body consumed; a socket error marks the body
    ``failed`` (the connection then closes), as gunicorn's own reader does.
    """

    def __init__(self, body) -> None:
        self._body = body
        self._reader = body.reader
        self._unreader = body.reader.unreader
        self._sock = body.reader.unreader.sock

    @classmethod
    def wrap(cls, stream):
        """``stream`` (Werkzeug's ``LimitedStream``) reading through this class when what it wraps is
        gunicorn's body of a ``Content-Length`` request; else ``stream`` unchanged (other servers,
        chunked bodies, a gunicorn whose reader looks different)."""
        body = getattr(stream, "_stream", None)
        reader = getattr(body, "reader", None)
        unreader = getattr(reader, "unreader", None)
        if (type(body).__module__, type(body).__name__) != ("gunicorn.http.body", "Body") \
                or type(reader).__name__ != "LengthReader" or not isinstance(getattr(reader, "length", None), int) \
                or not isinstance(getattr(body, "buf", None), io.BytesIO) \
                or not isinstance(getattr(unreader, "buf", None), io.BytesIO) \
                or not isinstance(getattr(unreader, "sock", None), socket.socket):
            return stream
        stream._stream = cls(body)
        return stream

    @staticmethod
    def _take(holder, b, limit: int) -> int:
        """Move up to ``min(len(b), limit)`` bytes from ``holder.buf`` (a BytesIO) into ``b``; returns the count."""
        data = holder.buf.getvalue()
        n = min(len(b), len(data), limit)
        if n:
            b[:n] = data[:n]
            holder.buf = io.BytesIO()
            holder.buf.write(data[n:])
        return n

    def readinto(self, b) -> int:
        """Read at most ``len(b)`` bytes of the body into ``b``; 0 at its end (or when the client left)."""
        if self._body.buf.tell():  # already counted in the reader's length
            return self._take(self._body, b, len(b))
        if self._reader.length <= 0:
            return 0
        if self._unreader.buf.tell():
            n = self._take(self._unreader, b, self._reader.length)
        else:
            try:
                with memoryview(b) as view:
                    n = self._sock.recv_into(view[:min(len(b), self._reader.length)])
            except OSError:
                self._body.failed = True
                raise
        self._reader.length -= n
        return n

    def read(self, size: int = -1) -> bytes:
        """``read`` for callers without ``readinto`` (at most ``size`` bytes, 64 KiB when unbounded)."""
        buf = bytearray(size if size and size > 0 else 64 * 1024)
        return bytes(buf[:self.readinto(buf)])

    def readable(self) -> bool:
        return True


class LargeReadFormDataParser(FormDataParser):
    """Werkzeug's form parser over a :class:`ReadAhead` of the body (read straight from the socket under
    gunicorn, :class:`GunicornDirectBody`), in ``PARSE_STEP_BYTES`` steps."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=PARSE_STEP_BYTES)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        stream = GunicornDirectBody.wrap(stream)
        size = DIRECT_READ_BYTES if isinstance(getattr(stream, "_stream", None), GunicornDirectBody) else UPLOAD_READ_BYTES
        body = ReadAhead(stream, size, _PARSE_SLOTS)
        try:
            form, files = parser.parse(body, boundary, content_length)
        finally:
            body.release()
        return stream, form, files


class StreamingRequest(Request):
    form_data_parser_class = LargeReadFormDataParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        tmp_dir = current_app.extensions["clipzy"].storage.tmp
        fh = tempfile.NamedTemporaryFile(mode="w+b", buffering=0, dir=tmp_dir, prefix="upload-", suffix=".part",
                                         delete=False)
        g.setdefault("upload_temp_files", []).append(fh.name)
        return SpoolFile(fh)


class SpoolFile:
    """The unbuffered temp file of one file part; on a full disk it frees itself and drains the rest.

    ``storage_full`` (also ``g.upload_storage_full``) tells the view to answer 503. Other
    attributes are the temp file's own (``name``, ``seek``, ``close``, ...).
    """

    def __init__(self, fh) -> None:
        self._fh = fh
        self.storage_full = False

    def write(self, data) -> int:
        if not self.storage_full:
            view = memoryview(data)
            try:
                while view:
                    view = view[self._fh.write(view):]
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                self.storage_full = True
                g.upload_storage_full = True
                os.ftruncate(self._fh.fileno(), 0)  # give the space back now, not at the end of the body
        return len(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def cleanup_temp_uploads(_exc=None) -> None:
    """Teardown: remove this request's temp upload files that were not moved into place."""
    for name in g.pop("upload_temp_files", []):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
