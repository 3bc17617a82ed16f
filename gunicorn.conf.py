"""gunicorn settings for Clipzy: ONE worker process with threads (a single-process app).

The job pool lives inside the worker, so there must be exactly one worker per
database unless you accept several pools claiming from one queue (that is safe: claims
are atomic). Timeouts suit large uploads from slow clients; nginx in front should
buffer request bodies off (proxy_request_buffering off) or allow the same size.

The worker's interpreter is tuned for short requests beside long CPU-bound threads (uploads
being parsed, the job pool's analysis), see :func:`post_worker_init`; ``bench/load.py``
measures the effect (status polls through nginx while uploads stream and extract jobs run).
"""
import gc
import os
import sys
import threading
import time

bind = os.environ.get("CLIPZY_BIND", "0.0.0.0:8000")
workers = 1
worker_class = "gthread"
# Each upload holds a thread for its whole length: with 8 threads, 20 concurrent uploads starved
# status polls for seconds (the bench/load.py of that time, without nginx: p99 3.3 s at 8 threads,
# 1.4 s at 64).
threads = int(os.environ.get("CLIPZY_HTTP_THREADS", "64"))
timeout = 600  # seconds a request may take (a 1 GB upload over a slow link)
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
preload_app = False  # the app (and its job pool) starts inside the worker
accesslog = None  # the app logs each request as JSON
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# A thread waiting for the GIL asks the holder to drop it after this many seconds (CPython's
# default is 5 ms). A status poll takes and drops the GIL a dozen times (socket reads and
# writes, SQLite calls, the log line); beside busy upload and analysis threads each take
# could cost up to the whole interval.
SWITCH_INTERVAL_S = 0.001
# The nice value (0-19) of the worker's threads other than its main thread, set once the app has
# started: the job pool's, the warm-up's, the webhook sender's and the native pools created at
# import (BLAS). Threads inherit the value of the thread that creates them, so the analysis'
# native threads (onnxruntime, FFmpeg) start at it too, while gunicorn's request threads (created
# later by the main thread) stay at 0: on a busy machine a status poll then gets a core ahead of
# the analysis (bench/load.py, 2 cores, jobs running, no upload: polls p50 33-77 ms at 0, 10-11 ms at 10).
JOB_THREADS_NICE = 10
WARM_UP_WAIT_S = 900.0  # seconds to wait for the job pool's warm-up before freezing anyway


def _freeze_after_warm_up() -> None:
    """``gc.freeze()`` once the job pool's warm-up thread has ended (imports, compiled kernels, model sessions)."""
    from clipzy import WARM_UP_THREAD

    end = time.monotonic() + WARM_UP_WAIT_S
    while time.monotonic() < end and any(t.name == WARM_UP_THREAD for t in threading.enumerate()):
        time.sleep(0.5)
    gc.collect()
    gc.freeze()


def _lower_other_threads(nice: int) -> None:
    """``nice`` for every thread of this process that exists now except the calling one (the worker's main
    thread; Linux: /proc). Not ``threading.main_thread().native_id``: after gunicorn's fork that is the master's."""
    main = threading.get_native_id()
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return
    for tid in tids:
        if tid != main:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
            except OSError:  # the thread ended meanwhile
                pass


def post_worker_init(worker) -> None:
    """Tune the worker's interpreter after the app (and its job pool) started in it.

    Full garbage collections walk every tracked object while holding the GIL: with librosa,
    numba, onnxruntime and the app loaded that is a few hundred thousand objects, and on
    2 busy cores each full collection stopped every thread for 150-470 ms (the outliers of
    the status polls' p99). What exists after the start-up and the warm-up lives as long as
    the process, so it is frozen out of the collector (``gc.freeze``: still freed by
    reference counting, never scanned again); objects made later are collected as usual.

    Also: the GIL switch interval (``SWITCH_INTERVAL_S``) and the job threads' nice value
    (``JOB_THREADS_NICE``).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
    threading.Thread(target=_freeze_after_warm_up, name="clipzy-gc-freeze", daemon=True).start()
    _lower_other_threads(JOB_THREADS_NICE)
