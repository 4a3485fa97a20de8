"""Exceptions: one class per libmccache error code, under :class:`MccacheError`.

Every error the engine returns is raised as the subclass for its code, with
the engine's message (``mccache_last_error()``: which argument, which key,
which source, which range). The classes also derive from the matching
built-in exception where one exists, so ``except ValueError`` or
``except KeyError`` keeps working in code written for a plain ``dict``.
"""

from __future__ import annotations

__all__ = [
    "MccacheError",
    "InvalidArgumentError",
    "NoMemoryError",
    "NotFoundError",
    "ExistsError",
    "BufferTooSmallError",
    "TooBigError",
    "ClosedError",
    "MccacheTimeoutError",
    "CanceledError",
    "BusyError",
    "ConfigError",
    "MccacheIOError",
    "StaleError",
    "UserError",
    "NotSupportedError",
    "InternalError",
    "CodecError",
    "error_for_code",
]


class MccacheError(Exception):
    """Base class of every error raised by this package.

    ``code`` is the engine's negative ``MCCACHE_E*`` value (``None`` for errors
    raised by the Python layer itself, such as :class:`CodecError`), ``name``
    its symbolic name (``"MCCACHE_EINVAL"``) and ``detail`` the engine's
    message.
    """

    code: int | None = None

    def __init__(self, message: str, *, code: int | None = None, name: str = "", detail: str = ""):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.name = name
        self.detail = detail


class InvalidArgumentError(MccacheError, ValueError):
    """MCCACHE_EINVAL: an argument is invalid (empty key, bad TTL, ...)."""

    code = -1


class NoMemoryError(MccacheError, MemoryError):
    """MCCACHE_ENOMEM: the engine ran out of memory."""

    code = -2


class NotFoundError(MccacheError, KeyError):
    """MCCACHE_ENOTFOUND: the key, setting or entry does not exist."""

    code = -3

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ExistsError(MccacheError):
    """MCCACHE_EEXISTS: already exists."""

    code = -4


class BufferTooSmallError(MccacheError):
    """MCCACHE_EBUFS: a buffer was too small (the package retries; never seen in practice)."""

    code = -5


class TooBigError(MccacheError, ValueError):
    """MCCACHE_ETOOBIG: a key or value exceeds ``max_key_size``/``max_value_size``; nothing was stored."""

    code = -6


class ClosedError(MccacheError):
    """MCCACHE_ECLOSED: the node was closed."""

    code = -7


class MccacheTimeoutError(MccacheError, TimeoutError):
    """MCCACHE_ETIMEDOUT: a deadline passed."""

    code = -8


class CanceledError(MccacheError):
    """MCCACHE_ECANCELED: cancelled by shutdown."""

    code = -9


class BusyError(MccacheError):
    """MCCACHE_EBUSY: not allowed now (e.g. closing a node from its own callback)."""

    code = -10


class ConfigError(MccacheError, ValueError):
    """MCCACHE_ECONFIG: a setting is unknown or invalid; the message names key, value, source and range."""

    code = -11


class MccacheIOError(MccacheError, OSError):
    """MCCACHE_EIO: a file or socket operation failed."""

    code = -12


class StaleError(MccacheError):
    """MCCACHE_ESTALE: a newer version is held."""

    code = -13


class UserError(MccacheError):
    """MCCACHE_EUSER: reserved for callbacks."""

    code = -14


class NotSupportedError(MccacheError):
    """MCCACHE_ENOTSUP: not supported by this build, configuration or binding."""

    code = -15


class InternalError(MccacheError):
    """MCCACHE_EINTERNAL: a bug in libmccache; please report it."""

    code = -16


class CodecError(MccacheError, ValueError):
    """A value or key could not be encoded or decoded (raised by this package, not the engine)."""


_BY_CODE: dict[int, type[MccacheError]] = {
    cls.code: cls  # type: ignore[misc]
    for cls in (
        InvalidArgumentError,
        NoMemoryError,
        NotFoundError,
        ExistsError,
        BufferTooSmallError,
        TooBigError,
        ClosedError,
        MccacheTimeoutError,
        CanceledError,
        BusyError,
        ConfigError,
        MccacheIOError,
        StaleError,
        UserError,
        NotSupportedError,
        InternalError,
    )
}


def error_for_code(code: int) -> type[MccacheError]:
    """The exception class for an engine error code (:class:`MccacheError` for an unknown one)."""
    return _BY_CODE.get(code, MccacheError)
