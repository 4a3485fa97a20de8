"""The C ABI of libmccache through ctypes: loading, prototypes, error mapping.

Nothing here is public. Every engine call goes through a ``CDLL`` function,
so the GIL is released for the duration of each call: a call that waits
(close, cluster collect) never holds up Python threads, and the engine's
dispatcher thread can take the GIL to deliver a callback meanwhile.

Which ``libmccache.so`` is loaded, in order:

1. ``$MCCACHE_LIBRARY``, a path (tests point it at a build tree);
2. the copy inside this package (``mccache/lib/``, put there by the wheel build);
3. the system's, by soname (``libmccache.so.0``), e.g. from ``cmake --install``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

from .errors import MccacheError, error_for_code

ABI_MAJOR = 0  # the soname's major version this package was written for
MIN_VERSION = 200  # 0.2.0: the first version with everything used here

OK = 0
EINVAL = -1
ENOTFOUND = -3
EBUFS = -5
ECLOSED = -7
ETIMEDOUT = -8
EBUSY = -10
EUSER = -14
ENOTSUP = -15

TTL_DEFAULT = 0
TTL_NEVER = -1

QUERY_METRICS = 1
QUERY_CHECKSUMS = 2


class Metadata(Structure):
    """mccache_metadata_t."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved0", c_uint32),
        ("version_hlc", c_uint64),
        ("version_node", c_uint64),
        ("created_ms", c_int64),
        ("updated_ms", c_int64),
        ("expires_ms", c_int64),
        ("last_lookup_ms", c_int64),
        ("lookups", c_uint64),
        ("key_size", c_uint64),
        ("value_size", c_uint64),
        ("charged_bytes", c_uint64),
        ("checksum", c_uint64),
    ]


class Event(Structure):
    """mccache_event_t (borrowed for the duration of a change callback)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("type", c_int32),
        ("origin", c_int32),
        ("reserved0", c_int32),
        ("cache", c_void_p),
        ("key", c_void_p),
        ("klen", c_size_t),
        ("value", c_void_p),
        ("version_hlc", c_uint64),
        ("version_node", c_uint64),
        ("last_lookup_ms", c_int64),
        ("time_ms", c_int64),
    ]


CHANGE_CB = CFUNCTYPE(None, POINTER(Event), c_void_p)
LOG_CB = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
FREE_CB = CFUNCTYPE(None, c_void_p)

_P = c_void_p
_PP = POINTER(c_void_p)

# name: (restype, argtypes). Buffers are passed as c_char_p: ctypes hands the
# engine a pointer into the bytes object without copying it.
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "mccache_version": (c_uint, []),
    "mccache_version_string": (c_char_p, []),
    "mccache_strerror": (c_char_p, [c_int]),
    "mccache_err_name": (c_char_p, [c_int]),
    "mccache_last_error": (c_char_p, []),
    "mccache_free": (None, [c_void_p]),
    "mccache_config_new": (c_int, [_PP]),
    "mccache_config_free": (None, [_P]),
    "mccache_config_set": (c_int, [_P, c_char_p, c_char_p]),
    "mccache_config_load_file": (c_int, [_P, c_char_p]),
    "mccache_config_load_env": (c_int, [_P]),
    "mccache_config_get": (c_int, [_P, c_char_p, c_char_p, POINTER(c_size_t)]),
    "mccache_config_to_json": (c_int, [_P, _PP]),
    "mccache_set_log_cb": (c_int, [_P, LOG_CB, c_void_p, c_void_p]),
    "mccache_open": (c_int, [_P, _PP]),
    "mccache_close": (c_int, [_P]),
    "mccache_node_id": (c_int, [_P, POINTER(c_uint64)]),
    "mccache_node_config_json": (c_int, [_P, _PP]),
    "mccache_metrics_json": (c_int, [_P, _PP]),
    "mccache_housekeep": (c_int, [_P]),
    "mccache_cache_open": (c_int, [_P, c_char_p, _PP]),
    "mccache_put": (c_int, [_P, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]),
    "mccache_get": (c_int, [_P, c_char_p, c_size_t, _PP]),
    # The read path's buffer and length pointer are passed as addresses
    # (ints): ctypes converts an int to c_void_p about 1 us faster than it
    # checks a pointer object, a third of a cache hit's cost.
    "mccache_get_copy": (c_int, [_P, c_char_p, c_size_t, c_void_p, c_void_p]),
    "mccache_value_data": (c_void_p, [_P, POINTER(c_size_t)]),
    "mccache_value_free": (None, [_P]),
    "mccache_delete": (c_int, [_P, c_char_p, c_size_t]),
    "mccache_contains": (c_int, [_P, c_char_p, c_size_t]),
    "mccache_len": (c_int, [_P, POINTER(c_size_t)]),
    "mccache_clear": (c_int, [_P]),
    "mccache_metadata": (c_int, [_P, c_char_p, c_size_t, POINTER(Metadata)]),
    "mccache_iter_new": (c_int, [_P, _PP]),
    "mccache_iter_next": (c_int, [_P, _PP, POINTER(c_size_t), _PP]),
    "mccache_iter_free": (None, [_P]),
    "mccache_checksum": (c_int, [_P, POINTER(c_uint64)]),
    "mccache_key_checksum": (c_int, [_P, c_char_p, c_size_t, POINTER(c_uint64)]),
    "mccache_cache_metrics_json": (c_int, [_P, _PP]),
    "mccache_on_change": (c_int, [_P, CHANGE_CB, c_void_p, c_void_p]),
    "mccache_members_json": (c_int, [_P, _PP]),
    "mccache_sync": (c_int, [_P]),
    "mccache_cluster_collect": (c_int, [_P, c_int, c_char_p, c_int, _PP]),
    "mccache_generate_key": (c_int, [c_char_p, c_size_t]),
    "mccache_set_keys": (c_int, [_P, c_char_p, c_char_p]),
    "mccache_path_mtu": (c_int, [c_char_p, c_int, POINTER(c_int), _PP]),
    "mccache_hops": (c_int, [c_char_p, c_int, c_int, POINTER(c_int), _PP]),
    # Loaders: the callback types are given at each call (see _loads).
    "mccache_get_or_load": (c_int, [_P, c_char_p, c_size_t, c_void_p, c_void_p, c_int64, _PP]),
    "mccache_set_loader": (c_int, [_P, c_void_p, c_void_p, c_void_p]),
    "mccache_load_set_value": (c_int, [_P, c_char_p, c_size_t, c_int64]),
    "mccache_load_set_error": (c_int, [_P, c_char_p]),
    "mccache_namespace_bump": (c_int, [_P, POINTER(c_uint64)]),
    "mccache_namespace_generation": (c_int, [_P, POINTER(c_uint64)]),
}

# Added by later versions of the engine; used when present.
_OPTIONAL: dict[str, tuple[object, list[object]]] = {}


def _candidates() -> list[str]:
    env = os.environ.get("MCCACHE_LIBRARY")
    if env:
        return [env]  # explicit: no silent fallback to another copy
    out: list[str] = []
    here = Path(__file__).resolve().parent / "lib"
    for name in ("libmccache.so.%d" % ABI_MAJOR, "libmccache.so"):
        if (here / name).exists():
            out.append(str(here / name))
    out.append("libmccache.so.%d" % ABI_MAJOR)
    found = ctypes.util.find_library("mccache")
    if found:
        out.append(found)
    return out


def _load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        for name, (res, args) in _OPTIONAL.items():
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = res
                fn.argtypes = args
        version = lib.mccache_version()
        if version // 10000 != ABI_MAJOR or version < MIN_VERSION:
            raise ImportError(
                f"{path} is libmccache {lib.mccache_version_string().decode()}; this package "
                f"needs {ABI_MAJOR}.x from {MIN_VERSION // 10000}.{MIN_VERSION // 100 % 100}.0 on"
            )
        lib._mccache_path = path  # type: ignore[attr-defined]
        return lib
    raise ImportError(
        "cannot load libmccache: " + "; ".join(errors)
        + " (set MCCACHE_LIBRARY to the library's path, or install the package with its wheel)"
    )


lib = _load()
library_path: str = lib._mccache_path  # type: ignore[attr-defined]


def last_error() -> str:
    """The calling thread's last engine error message (same OS thread as the failed call)."""
    msg = lib.mccache_last_error()
    return msg.decode("utf-8", "replace") if msg else ""


def make_error(rc: int, what: str) -> MccacheError:
    """An exception for engine return code ``rc`` from the call ``what``; reads last_error at once."""
    detail = last_error()
    name = lib.mccache_err_name(rc).decode()
    cls = error_for_code(rc)
    text = f"{what}: {name}: {detail}" if detail else f"{what}: {name} ({lib.mccache_strerror(rc).decode()})"
    return cls(text, code=rc, name=name, detail=detail)


def check(rc: int, what: str) -> None:
    if rc != OK:
        raise make_error(rc, what)


def take_json(fn, *args, what: str) -> bytes:  # type: ignore[no-untyped-def]
    """Calls an engine function that returns a JSON string through ``char **``; frees it."""
    out = c_void_p()
    check(fn(*args, ctypes.byref(out)), what)
    try:
        return ctypes.string_at(out.value)
    finally:
        lib.mccache_free(out)
