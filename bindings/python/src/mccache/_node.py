"""A node (mccache_t) and the Python thread that runs its callbacks."""

from __future__ import annotations

import ctypes
import itertools
import json
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _config, _lib
from ._lib import check, lib
from .errors import ClosedError, ConfigError, InvalidArgumentError

if TYPE_CHECKING:
    from ._cache import Cache
    from .codecs import Codec

log = logging.getLogger("mccache")

_LOG_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}

# Callback targets by opaque token. The engine gets the token, never a Python
# object, so nothing it holds can dangle; a token whose target is gone is ignored.
_targets: dict[int, Callable[..., None]] = {}
_tokens = itertools.count(1)
_live_nodes: weakref.WeakSet[Node] = weakref.WeakSet()


def _on_change(ev_p: Any, opaque: int | None) -> None:
    """Runs on the engine's dispatcher thread (ctypes takes the GIL for it).

    It only copies the event out of the engine's memory (the event and its
    value are borrowed for this call) and queues it for the node's Python
    callback thread, so user code never runs on, or blocks, the dispatcher.
    """
    try:
        target = _targets.get(opaque or 0)
        if target is None:
            return
        ev = ev_p.contents
        key = ctypes.string_at(ev.key, ev.klen)
        value = None
        if ev.value:
            n = ctypes.c_size_t()
            p = lib.mccache_value_data(ev.value, ctypes.byref(n))
            value = ctypes.string_at(p, n.value) if n.value else b""
        target(ev.type, ev.origin, key, value, ev.version_hlc, ev.version_node,
               ev.last_lookup_ms, ev.time_ms)
    except BaseException:  # noqa: BLE001 (an exception must not unwind into C)
        log.exception("mccache: change event lost in the ctypes trampoline")


def _on_log(level: int, message: bytes | None, opaque: int | None) -> None:
    """Runs on the dispatcher thread: hands the line to the node's Python thread."""
    try:
        target = _targets.get(opaque or 0)
        if target is not None:
            target(level, message or b"")
    except BaseException:  # noqa: BLE001
        pass


# Kept for the life of the process: the engine may call them until every node closed.
CHANGE_TRAMPOLINE = _lib.CHANGE_CB(_on_change)
LOG_TRAMPOLINE = _lib.LOG_CB(_on_log)


class _CallbackThread:
    """A Python thread that runs one node's callbacks in the order the engine queued them."""

    def __init__(self, node_label: str):
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"mccache-callbacks-{node_label}",
                                        daemon=True)
        self._thread.start()

    def post(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 (a failing callback must not stop the others)
                log.exception("mccache: a callback raised")

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def stop(self) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()


class Node:
    """One libmccache node: a member of a cluster, owning its named caches.

    Settings come from ``[tool.mccache]`` in ``./pyproject.toml``, then
    ``MCCACHE_*`` environment variables, then ``settings`` and keyword
    arguments (the strongest), with the engine's keys (docs/CONFIG.md), e.g.
    ``Node(interface="127.0.0.1", cache_ttl=60, settings={"demo.cache_max": 1000})``.
    ``pyproject=False``/``env=False`` leave those sources out.

    Callbacks (change events, engine log lines) run on one Python thread per
    node, ``mccache-callbacks-<id>``, in the order the engine queued them.
    Engine log lines go to the ``logging`` logger ``"mccache"`` unless
    ``log_filename`` is set.

    Thread-safe: any thread may use a node and its caches. Close it with
    :meth:`close` (or ``with Node(...) as node:``); open nodes are closed at
    interpreter exit.
    """

    def __init__(self, settings: Mapping[str, Any] | None = None, *,
                 pyproject: bool | str | os.PathLike[str] = True, env: bool = True,
                 log_to_python: bool = True, **kwargs: Any):
        merged = dict(settings or {})
        merged.update(kwargs)
        cfg = _config.build(merged, pyproject=pyproject, env=env)
        try:
            self._has_crypto_key = cfg.get("crypto_key") == "(set)"
            log_file = cfg.get("log_filename")
            h = ctypes.c_void_p()
            check(lib.mccache_open(cfg.handle, ctypes.byref(h)), "mccache_open")
        finally:
            cfg.free()
        self._h = h
        self._lock = threading.RLock()
        self._closed = False
        self._caches: dict[str, Cache] = {}
        self._tokens: list[int] = []
        nid = ctypes.c_uint64()
        check(lib.mccache_node_id(h, ctypes.byref(nid)), "mccache_node_id")
        self._id = nid.value
        self._callbacks = _CallbackThread(f"{self._id:016x}")
        if log_to_python and not log_file:
            token = self._register(self._post_log)
            check(lib.mccache_set_log_cb(h, LOG_TRAMPOLINE, token, None), "mccache_set_log_cb")
        _live_nodes.add(self)

    # -- internals used by Cache -------------------------------------------
    def _register(self, target: Callable[..., None]) -> int:
        token = next(_tokens)
        _targets[token] = target
        self._tokens.append(token)
        return token

    def _post_log(self, level: int, message: bytes) -> None:
        self._callbacks.post(_emit_log, (level, message))

    @property
    def handle(self) -> ctypes.c_void_p:
        """The ``mccache_t *`` (for tests and other ctypes code)."""
        return self._h

    @property
    def callback_thread_ident(self) -> int | None:
        """``threading.get_ident()`` of the thread that runs this node's callbacks."""
        return self._callbacks.ident

    # -- public ----------------------------------------------------------------
    @property
    def id(self) -> int:
        """The node's 64-bit id (``node_id``, or random)."""
        return self._id

    @property
    def id_hex(self) -> str:
        """The id as 16 hex digits, as the engine's JSON writes it."""
        return f"{self._id:016x}"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def has_crypto_key(self) -> bool:
        """Whether the node seals its traffic (``crypto_key`` was set when it opened)."""
        return self._has_crypto_key

    def cache(self, name: str = "mccache", callback: Callable[[dict[str, Any]], Any] | None = None, *,
              codec: Codec | None = None, raw: bool = False) -> Cache:
        """The cache ``name`` of this node (the same object for the same name).

        ``callback(ctx)`` is McCache's change callback (see :class:`Cache`);
        given again, it replaces the earlier one. ``codec`` encodes values that
        are not ``str``/``bytes`` (default :class:`JsonCodec`); ``raw=True``
        stores and returns bytes without type tags (see :mod:`mccache.codecs`).
        """
        from ._cache import Cache  # noqa: PLC0415 (circular)
        from .codecs import PickleCodec  # noqa: PLC0415

        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"cache name must be a non-empty str, got {name!r}")
        if isinstance(codec, PickleCodec) and not self._has_crypto_key:
            raise ConfigError(
                "PickleCodec needs a crypto_key: unpickling runs code chosen by whoever wrote the "
                "value, so it is only allowed when every datagram is authenticated with the "
                "cluster key (set crypto_key, e.g. MCCACHE_CRYPTO_KEY=$(openssl rand -base64 32))")
        with self._lock:
            c = self._caches.get(name)
            if c is None:
                h = ctypes.c_void_p()
                check(lib.mccache_cache_open(self._h, name.encode("utf-8"), ctypes.byref(h)),
                      f"mccache_cache_open({name!r})")
                c = Cache(self, name, h, codec=codec, raw=raw)
                self._caches[name] = c
            elif (codec is not None and type(codec) is not type(c.codec)) or raw != c.raw:
                raise InvalidArgumentError(
                    f"cache {name!r} is already open here with {c.codec!r}, raw={c.raw}; "
                    "one cache has one encoding")
            if callback is not None:
                c.set_callback(callback)
            return c

    def cache_names(self) -> list[str]:
        """Names of the caches open on this node (from its metrics)."""
        return sorted(self.metrics().get("caches", {}))

    def metrics(self) -> dict[str, Any]:
        """``mccache_metrics_json()``: node, cache and cluster metrics (docs/METRICS.md)."""
        return json.loads(_lib.take_json(lib.mccache_metrics_json, self._h, what="mccache_metrics_json"))

    def config(self) -> dict[str, Any]:
        """The effective configuration with the source of every value (secrets masked)."""
        return json.loads(_lib.take_json(lib.mccache_node_config_json, self._h,
                                         what="mccache_node_config_json"))

    def members(self) -> dict[str, Any]:
        """``{"self": {...}, "members": [{"id", "address", "state", "last_seen_ms"}]}``."""
        return json.loads(_lib.take_json(lib.mccache_members_json, self._h, what="mccache_members_json"))

    def alive_members(self) -> list[dict[str, Any]]:
        """The other members currently alive."""
        return [m for m in self.members().get("members", []) if m.get("state") == "alive"]

    def sync(self) -> None:
        """Start an anti-entropy round with every member now (McCache's pulse)."""
        check(lib.mccache_sync(self._h), "mccache_sync")

    def housekeep(self) -> None:
        """Expire entries and collect tombstones now, and wait for it."""
        check(lib.mccache_housekeep(self._h), "mccache_housekeep")

    def collect(self, kind: str, cache: str | None = None, timeout: float = 2.0) -> dict[str, Any]:
        """Ask every member for ``"metrics"`` or ``"checksums"`` and wait up to ``timeout`` s.

        Returns ``{"replies": {HEX_ID: answer}, "members": N}``.
        """
        kinds = {"metrics": _lib.QUERY_METRICS, "checksums": _lib.QUERY_CHECKSUMS}
        if kind not in kinds:
            raise InvalidArgumentError(f"kind must be 'metrics' or 'checksums', got {kind!r}")
        ms = int(timeout * 1000)
        return json.loads(_lib.take_json(
            lib.mccache_cluster_collect, self._h, kinds[kind],
            cache.encode("utf-8") if cache is not None else None, ms,
            what="mccache_cluster_collect"))

    def set_keys(self, seal_key: str | None, accept_key: str | None = None) -> None:
        """Rotate keys without downtime (docs/SECURITY.md).

        Refused (``ConfigError``) when it would stop sealing while a cache of
        this node uses :class:`PickleCodec`.
        """
        if not seal_key and any(not c.codec.safe for c in list(self._caches.values())):
            raise ConfigError("cannot stop sealing: a cache of this node unpickles values (PickleCodec)")
        check(lib.mccache_set_keys(self._h, seal_key.encode() if seal_key else None,
                                   accept_key.encode() if accept_key else None), "mccache_set_keys")
        self._has_crypto_key = bool(seal_key)

    def close(self) -> None:
        """Leave the cluster and free the node; queued callbacks run first. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        rc = lib.mccache_close(self._h)
        if rc not in (_lib.OK, _lib.ECLOSED):
            self._closed = False
            raise _lib.make_error(rc, "mccache_close")
        self._callbacks.stop()
        for token in self._tokens:
            _targets.pop(token, None)
        _live_nodes.discard(self)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed and threading.current_thread().ident != self._callbacks.ident:
                self.close()
        except Exception:  # noqa: BLE001 (never raise from a finalizer)
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<mccache.Node {self.id_hex} {state}>"


def _emit_log(level: int, message: bytes) -> None:
    log.log(_LOG_LEVELS.get(level, logging.INFO), "%s", message.decode("utf-8", "replace"))


def close_all() -> None:
    """Close every node still open (registered with atexit)."""
    for node in list(_live_nodes):
        try:
            node.close()
        except Exception:  # noqa: BLE001
            log.exception("mccache: closing %r at exit", node)
