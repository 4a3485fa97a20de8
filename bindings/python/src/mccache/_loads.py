"""Loaders over the engine's mccache_get_or_load(): one load per key on a node and
across the cluster, refresh-ahead and stale serving (the engine's; this module only
carries Python callables across the C boundary)."""

from __future__ import annotations

import ctypes
import functools
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._lib import EUSER, OK, TTL_DEFAULT, TTL_NEVER, lib, make_error

if TYPE_CHECKING:
    from ._cache import Cache

# int (*mccache_loader_cb)(mccache_load_t *load, const void *key, size_t klen, void *opaque)
LOADER_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_FREE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_MAX_ERROR_TEXT = 1024  # what other members receive of a failure's text


def _ttl_ms(ttl: float | None) -> int:
    if ttl is None:
        return TTL_DEFAULT
    if ttl == float("inf"):
        return TTL_NEVER
    if not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds, None (the cache's cache_ttl) "
                         f"or math.inf (never); got {ttl!r}")
    return max(1, round(ttl * 1000))


def _timeout_ms(timeout: float | None) -> int:
    if timeout is None:
        return 0  # the engine's default: twice the cache's load_lease
    if timeout == float("inf"):
        return -1
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, None (twice load_lease) "
                         f"or math.inf (no limit); got {timeout!r}")
    return max(1, round(timeout * 1000))


def _run_loader(cache: Cache, fn: Callable[[Any], Any], load: int, kp: int, kl: int,
                ttl_ms: int, caught: list[BaseException] | None) -> int:
    """Call ``fn(key)`` for the engine and hand its value (or failure) back."""
    from ._cache import _kdec  # noqa: PLC0415 (circular)

    try:
        key = _kdec(ctypes.string_at(kp, kl))
        vb = cache._venc(fn(key))
        return lib.mccache_load_set_value(load, vb, len(vb), ttl_ms)
    except BaseException as e:  # noqa: BLE001 - every failure must reach the waiters, not unwind C
        if caught is not None:
            caught.append(e)
        text = f"{type(e).__name__}: {e}".encode("utf-8", "replace")[:_MAX_ERROR_TEXT]
        lib.mccache_load_set_error(load, text)
        return EUSER


def get_or_load(cache: Cache, key: Any, loader: Callable[[Any], Any] | None, ttl: float | None,
                timeout: float | None) -> Any:
    from ._cache import _kenc  # noqa: PLC0415 (circular)

    kb = _kenc(key)
    ttl_ms = _ttl_ms(ttl)
    caught: list[BaseException] = []
    cb = None
    if loader is not None:
        # Runs on this thread (ctypes takes the GIL back for it): the engine
        # calls a miss's loader on the caller's thread.
        def trampoline(load: int, kp: int, kl: int, _opaque: int) -> int:
            return _run_loader(cache, loader, load, kp, kl, ttl_ms, caught)

        cb = LOADER_CB(trampoline)
    out = ctypes.c_void_p()
    rc = lib.mccache_get_or_load(cache._h, kb, len(kb), cb, None, _timeout_ms(timeout), ctypes.byref(out))
    if rc == OK:
        try:
            n = ctypes.c_size_t()
            p = lib.mccache_value_data(out, ctypes.byref(n))
            data = ctypes.string_at(p, n.value) if n.value else b""
        finally:
            lib.mccache_value_free(out)
        return cache._vdec(data)
    if caught:
        raise caught[0]  # this thread's own loader failed: its exception, as Caffeine rethrows
    raise make_error(rc, f"mccache_get_or_load({cache.name!r}, {key!r})")


# Registered loaders stay alive until the engine frees them (opaque_free).
_registered: dict[int, Any] = {}
_registered_lock = threading.Lock()
_tokens = itertools.count(1)


@_FREE_CB
def _release(opaque: int) -> None:
    with _registered_lock:
        _registered.pop(opaque or 0, None)


def set_loader(cache: Cache, loader: Callable[[Any], Any] | None, ttl: float | None) -> None:
    if loader is None:
        rc = lib.mccache_set_loader(cache._h, None, None, None)
        if rc != OK:
            raise make_error(rc, f"mccache_set_loader({cache.name!r})")
        return
    ttl_ms = _ttl_ms(ttl)

    # Runs on a miss's calling thread, or on the engine's dispatcher thread for
    # a background reload (ctypes takes the GIL there).
    def trampoline(load: int, kp: int, kl: int, _opaque: int) -> int:
        return _run_loader(cache, loader, load, kp, kl, ttl_ms, None)

    cb = LOADER_CB(trampoline)
    token = next(_tokens)
    with _registered_lock:
        _registered[token] = cb
    rc = lib.mccache_set_loader(cache._h, cb, ctypes.c_void_p(token), _release)
    if rc != OK:  # the engine released the token already (opaque_free ran), except for a bad cache
        with _registered_lock:
            _registered.pop(token, None)
        raise make_error(rc, f"mccache_set_loader({cache.name!r})")


def memoize(cache: Cache, ttl: float | None, timeout: float | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = (name, args, tuple(sorted(kwargs.items())))
            return get_or_load(cache, key, lambda _k: fn(*args, **kwargs), ttl, timeout)

        return wrapper

    return decorate


def bump_namespace(cache: Cache) -> int:
    out = ctypes.c_uint64()
    rc = lib.mccache_namespace_bump(cache._h, ctypes.byref(out))
    if rc != OK:
        raise make_error(rc, f"mccache_namespace_bump({cache.name!r})")
    return out.value


def namespace_generation(cache: Cache) -> int:
    out = ctypes.c_uint64()
    rc = lib.mccache_namespace_generation(cache._h, ctypes.byref(out))
    if rc != OK:
        raise make_error(rc, f"mccache_namespace_generation({cache.name!r})")
    return out.value
