"""gunicorn settings for Clipzy: ONE worker process with threads (a single-process app).

The job pool lives inside the worker, so there must be exactly one worker per
database unless you accept several pools claiming from one queue (that is safe: claims
are atomic). Timeouts suit large uploads from slow clients; nginx in front should
buffer request bodies off (proxy_request_buffering off) or allow the same size.
"""
import os

bind = os.environ.get("CLIPZY_BIND", "0.0.0.0:8000")
workers = 1
worker_class = "gthread"
# Each upload holds a thread for its whole length: with 8 threads, 20 concurrent uploads starved
# status polls for seconds (bench/load.py: p99 3.3 s at 8 threads, 1.4 s at 64).
threads = int(os.environ.get("CLIPZY_HTTP_THREADS", "64"))
timeout = 600  # seconds a request may take (a 1 GB upload over a slow link)
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
preload_app = False  # the app (and its job pool) starts inside the worker
accesslog = None  # the app logs each request as JSON
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
