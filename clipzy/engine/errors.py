"""Exceptions the engine raises; the job runner maps them to job failure codes.

| exception            | job error code       |
|----------------------|----------------------|
| InvalidMediaError    | INVALID_MEDIA        |
| DeadlineExceeded     | JOB_TIMEOUT          |
| Cancelled            | (job is cancelled)   |
| anything else        | PROCESSING_ERROR     |
"""


class EngineError(Exception):
    """Base class of engine errors."""


class InvalidMediaError(EngineError):
    """The input cannot be used: not a video, undecodable, or without a needed stream.

    The message is shown to users: say what is wrong, never a file system path.
    """


class Cancelled(EngineError):
    """The work was cancelled through its :class:`~clipzy.engine.control.Control`."""


class DeadlineExceeded(EngineError):
    """The work ran past its deadline."""
