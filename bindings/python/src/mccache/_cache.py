"""A named cache as a ``MutableMapping``: McCache's ``PyCache`` interface over the engine."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from typing import TYPE_CHECKING, Any, TypeVar

from . import _lib, _loads
from ._lib import EBUFS, ENOTFOUND, OK, check, lib, make_error
from .codecs import Codec, KeyCodec, ValueCodec

if TYPE_CHECKING:
    from ._node import Node

_T = TypeVar("_T")

# McCache's callback types (ctx["typ"]).
DELETE = 1
UPDATE = 2
INCOHERENT = 3

EVENT_NAMES = {1: "insert", 2: "update", 3: "delete", 4: "evict", 5: "expire"}
ORIGIN_NAMES = {0: "local", 1: "remote", 2: "repair"}

_MISSING: Any = object()
_INITIAL_BUFFER = 16 * 1024

_put = lib.mccache_put
_get_copy = lib.mccache_get_copy
_delete = lib.mccache_delete
_contains = lib.mccache_contains
_len = lib.mccache_len
_string_at = ctypes.string_at
_kenc = KeyCodec.encode
_kdec = KeyCodec.decode


class _Buffer(threading.local):
    """A per-thread buffer for mccache_get_copy(): one engine call per read, no allocation."""

    def __init__(self) -> None:
        self.resize(_INITIAL_BUFFER)

    def resize(self, size: int) -> None:
        self.buf = ctypes.create_string_buffer(size)
        self.cap = size
        self.n = ctypes.c_size_t()
        self.buf_at = ctypes.addressof(self.buf)  # ints: see mccache_get_copy in _lib
        self.n_at = ctypes.addressof(self.n)


_tls = _Buffer()


def _ttl_ms(ttl: float | None) -> int:
    if ttl is None:
        return _lib.TTL_DEFAULT
    if ttl == float("inf"):
        return _lib.TTL_NEVER
    if not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds, None (the cache's "
                         f"cache_ttl) or math.inf (never); got {ttl!r}")
    return max(1, round(ttl * 1000))


class Cache(MutableMapping[Any, Any]):
    """A named cache of a node, with the whole ``dict`` interface, kept coherent with the cluster.

    Writes apply locally at once and replicate asynchronously; reads never
    leave the process. Keys and values are encoded as :mod:`mccache.codecs`
    describes (``str``/``bytes`` as they are, other values through the
    cache's codec). ``c[k]`` raises ``KeyError`` for a missing key.

    Differences from ``dict`` worth knowing: compound operations
    (``setdefault``, ``pop``, ``popitem``, ``update``) are a read and a write,
    not atomic across threads or members; iteration tolerates concurrent
    changes (it never raises ``RuntimeError``) and has no defined order;
    ``clear()`` is one replicated, versioned operation.

    ``c.metadata[k]`` gives an entry's metadata: McCache's ``tsm`` (ns of the
    last write), ``lkp`` (ns of the last lookup, 0 if never) and ``crc`` (the
    entry checksum), and every field of ``mccache_metadata_t``.

    The change callback, ``callback(ctx)``, runs on the node's Python callback
    thread for changes made here and by other members (and by repairs), with
    McCache's ``ctx``: ``typ`` (1 DELETE, 2 UPDATE, 3 INCOHERENT: a repair
    by anti-entropy), ``nms``, ``key``, ``lkp``, ``tsm``, ``elp`` (ns from the
    last lookup to the change), ``prvcrc``/``newcrc`` (None: the engine does
    not report them), plus ``event`` (insert, update, delete, evict, expire),
    ``origin`` (local, remote, repair), ``version`` (hlc, node id) and
    ``value`` (the new value, or the old one for a delete; None if unknown).
    With ``callback_win`` > 0 only keys looked up within that window before
    the change are reported (McCache's semantics); 0, the engine's default,
    reports every change.
    """

    __slots__ = ("_node", "_name", "_h", "_venc", "_vdec", "_vcodec", "_callback", "_token",
                 "metadata", "__weakref__")

    def __init__(self, node: Node, name: str, handle: ctypes.c_void_p, *, codec: Codec | None, raw: bool):
        self._node = node
        self._name = name
        self._h = handle
        self._vcodec = ValueCodec(codec, raw=raw)
        self._venc = self._vcodec.encode
        self._vdec = self._vcodec.decode
        self._callback: Callable[[dict[str, Any]], Any] | None = None
        self._token = 0
        self.metadata = MetadataView(self)

    # -- properties -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def node(self) -> Node:
        return self._node

    @property
    def codec(self) -> Codec:
        return self._vcodec.codec

    @property
    def raw(self) -> bool:
        return self._vcodec.raw

    # -- the engine's bytes ---------------------------------------------------------
    def _read(self, kb: bytes) -> Any:
        """The stored bytes for an encoded key, or _MISSING."""
        tls = _tls
        tls.n.value = tls.cap
        rc = _get_copy(self._h, kb, len(kb), tls.buf_at, tls.n_at)
        if rc == OK:
            return tls.buf[:tls.n.value]  # slicing a c_char array: 10x cheaper than string_at
        if rc == ENOTFOUND:
            return _MISSING
        if rc == EBUFS:
            tls.resize(max(tls.n.value, 2 * tls.cap))
            return self._read(kb)
        raise make_error(rc, f"mccache_get({self._name!r})")

    def get_bytes(self, key: Any, default: _T = None) -> bytes | _T:  # type: ignore[assignment]
        """The stored bytes of ``key`` without decoding (what other languages see)."""
        data = self._read(_kenc(key))
        return default if data is _MISSING else data

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """``c[key] = value`` with a time to live: ``ttl`` seconds, None for the cache's
        ``cache_ttl``, ``math.inf`` for never."""
        kb = _kenc(key)
        vb = self._venc(value)
        rc = _put(self._h, kb, len(kb), vb, len(vb), _ttl_ms(ttl))
        if rc != OK:
            raise make_error(rc, f"mccache_put({self._name!r}, {key!r})")

    # -- the mapping -----------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        data = self._read(_kenc(key))
        if data is _MISSING:
            raise KeyError(key)
        return self._vdec(data)

    def get(self, key: Any, default: Any = None) -> Any:
        data = self._read(_kenc(key))
        return default if data is _MISSING else self._vdec(data)

    def __setitem__(self, key: Any, value: Any) -> None:
        kb = _kenc(key)
        vb = self._venc(value)
        rc = _put(self._h, kb, len(kb), vb, len(vb), 0)
        if rc != OK:
            raise make_error(rc, f"mccache_put({self._name!r}, {key!r})")

    def __delitem__(self, key: Any) -> None:
        kb = _kenc(key)
        rc = _delete(self._h, kb, len(kb))
        if rc == OK:
            return
        if rc == ENOTFOUND:
            raise KeyError(key)
        raise make_error(rc, f"mccache_delete({self._name!r}, {key!r})")

    def __contains__(self, key: object) -> bool:
        try:
            kb = _kenc(key)
        except TypeError:
            return False
        rc = _contains(self._h, kb, len(kb))
        if rc == OK:
            return True
        if rc == ENOTFOUND:
            return False
        raise make_error(rc, f"mccache_contains({self._name!r})")

    def __len__(self) -> int:
        n = ctypes.c_size_t()
        check(_len(self._h, ctypes.byref(n)), f"mccache_len({self._name!r})")
        return n.value

    def __iter__(self) -> Iterator[Any]:
        for kb, _ in self._entries(False):
            yield _kdec(kb)

    def keys(self) -> KeysView[Any]:
        return KeysView(self)

    def values(self) -> ValuesView[Any]:
        return _Values(self)

    def items(self) -> ItemsView[Any, Any]:
        return _Items(self)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        kb = _kenc(key)
        data = self._read(kb)
        if data is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        rc = _delete(self._h, kb, len(kb))
        if rc not in (OK, ENOTFOUND):
            raise make_error(rc, f"mccache_delete({self._name!r}, {key!r})")
        return self._vdec(data)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        kb = _kenc(key)
        data = self._read(kb)
        if data is not _MISSING:
            return self._vdec(data)
        self[key] = default
        return default

    def clear(self) -> None:
        """Remove every entry, on every member (one versioned, replicated clear)."""
        check(lib.mccache_clear(self._h), f"mccache_clear({self._name!r})")

    def copy(self) -> dict[Any, Any]:
        """A plain ``dict`` snapshot (McCache's ``copy()``)."""
        return dict(self.items())

    def _entries(self, with_values: bool) -> Iterator[tuple[bytes, bytes | None]]:
        it = ctypes.c_void_p()
        check(lib.mccache_iter_new(self._h, ctypes.byref(it)), f"mccache_iter_new({self._name!r})")
        try:
            kp = ctypes.c_void_p()
            kl = ctypes.c_size_t()
            vp = ctypes.c_void_p()
            vn = ctypes.c_size_t()
            kref, klref = ctypes.byref(kp), ctypes.byref(kl)
            vref = ctypes.byref(vp) if with_values else None
            nxt = lib.mccache_iter_next
            while True:
                rc = nxt(it, kref, klref, vref)
                if rc == ENOTFOUND:
                    return
                if rc != OK:
                    raise make_error(rc, f"mccache_iter_next({self._name!r})")
                kb = _string_at(kp.value, kl.value)
                if not with_values:
                    yield kb, None
                    continue
                try:
                    p = lib.mccache_value_data(vp, ctypes.byref(vn))
                    vb = _string_at(p, vn.value) if vn.value else b""
                finally:
                    lib.mccache_value_free(vp)
                yield kb, vb
        finally:
            lib.mccache_iter_free(it)

    # -- loaders ---------------------------------------------------------------------------
    def get_or_load(self, key: Any, loader: Callable[[Any], Any] | None = None, *,
                    ttl: float | None = None, timeout: float | None = None) -> Any:
        """``c[key]``, or ``loader(key)``'s value when absent, loaded once across the cluster.

        Caffeine's ``get(key, mappingFunction)``: concurrent callers of one key
        on this node, and (in a replicate cache) on other members, wait for
        one load and all get its value or its failure. ``loader`` runs on
        this thread; None uses the one given to :meth:`set_loader`. The value
        is stored with ``ttl`` (None: ``cache_ttl``) and replicated. If this
        thread's loader raises, that exception propagates here, and the other
        waiters get :class:`~mccache.UserError` with its text. ``timeout``
        bounds the wait for another caller's load (None: twice ``load_lease``;
        ``math.inf``: no limit): :class:`~mccache.MccacheTimeoutError`.
        ``refresh_after``, ``stale_while_revalidate``, ``stale_if_error`` and
        ``negative_ttl`` (cache settings, docs/CONFIG.md) apply.
        """
        return _loads.get_or_load(self, key, loader, ttl, timeout)

    def set_loader(self, loader: Callable[[Any], Any] | None, *, ttl: float | None = None) -> None:
        """Register the cache's loader (None removes it): the one :meth:`get_or_load` uses
        when given none, and the one background reloads (``refresh_after``,
        ``stale_while_revalidate``) run, on the engine's dispatcher thread."""
        _loads.set_loader(self, loader, ttl)

    def memoize(self, ttl: float | None = None, timeout: float | None = None
                ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A decorator: results of the function, by its arguments, through :meth:`get_or_load`.

        The key is (the function's qualified name, its positional arguments,
        its keyword arguments), so arguments must be keys the key codec takes
        (str, bytes, int, float, bool, None, tuples of them).
        """
        return _loads.memoize(self, ttl, timeout)

    def bump_namespace(self) -> int:
        """Invalidate every entry of a namespaced cache (``key_prefix``/``key_version``) on
        every member, in O(1); returns the new generation."""
        return _loads.bump_namespace(self)

    @property
    def namespace_generation(self) -> int:
        """The generation this cache's keys are stored under (0 before the first bump)."""
        return _loads.namespace_generation(self)

    # -- checksums, metrics, callbacks -------------------------------------------------------
    def checksum(self) -> int:
        """The order-independent digest of every live entry (equal on coherent members)."""
        out = ctypes.c_uint64()
        check(lib.mccache_checksum(self._h, ctypes.byref(out)), f"mccache_checksum({self._name!r})")
        return out.value

    def key_checksum(self, key: Any) -> int:
        """The checksum of one entry (its key, version and value). KeyError if absent."""
        kb = _kenc(key)
        out = ctypes.c_uint64()
        rc = lib.mccache_key_checksum(self._h, kb, len(kb), ctypes.byref(out))
        if rc == ENOTFOUND:
            raise KeyError(key)
        check(rc, f"mccache_key_checksum({self._name!r})")
        return out.value

    def metrics(self) -> dict[str, Any]:
        """This cache's metrics (docs/METRICS.md)."""
        import json  # noqa: PLC0415

        return json.loads(_lib.take_json(lib.mccache_cache_metrics_json, self._h,
                                         what=f"mccache_cache_metrics_json({self._name!r})"))

    def set_callback(self, callback: Callable[[dict[str, Any]], Any] | None) -> None:
        """Register (or with None remove) McCache's change callback ``callback(ctx)``."""
        from ._node import CHANGE_TRAMPOLINE  # noqa: PLC0415 (circular)

        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with self._node._lock:
            old = self._token
            if callback is None:
                check(lib.mccache_on_change(self._h, _lib.CHANGE_CB(), None, None),
                      f"mccache_on_change({self._name!r})")
                self._token = 0
            else:
                self._token = self._node._register(self._post_event)
                check(lib.mccache_on_change(self._h, CHANGE_TRAMPOLINE, self._token, None),
                      f"mccache_on_change({self._name!r})")
            self._callback = callback
            if old:
                from ._node import _targets  # noqa: PLC0415

                _targets.pop(old, None)

    def _post_event(self, *event: Any) -> None:
        """On the dispatcher thread: queue the event for the node's Python thread."""
        self._node._callbacks.post(self._deliver, event)

    def _deliver(self, etype: int, origin: int, kb: bytes, vb: bytes | None, hlc: int, node: int,
                 lookup_ms: int, time_ms: int) -> None:
        """On the node's Python callback thread: McCache's ctx, then the callback."""
        callback = self._callback
        if callback is None:
            return
        value: Any = None
        if vb is not None:
            try:
                value = self._vdec(vb)
            except Exception:  # noqa: BLE001 (a value this cache cannot decode: give its bytes)
                value = vb
        if origin == 2:
            typ = INCOHERENT
        elif etype in (3, 4, 5):
            typ = DELETE
        else:
            typ = UPDATE
        tsm = time_ms * 1_000_000
        lkp = lookup_ms * 1_000_000
        ctx = {
            "typ": typ,
            "nms": self._name,
            "key": _kdec(kb),
            "lkp": lkp,
            "tsm": tsm,
            "elp": tsm - lkp if lkp else 0,
            "prvcrc": None,
            "newcrc": None,
            "event": EVENT_NAMES.get(etype, str(etype)),
            "origin": ORIGIN_NAMES.get(origin, str(origin)),
            "version": (hlc, node),
            "value": value,
        }
        callback(ctx)

    def __repr__(self) -> str:
        try:
            n = f"{len(self)} entries"
        except Exception:  # noqa: BLE001
            n = "closed"
        return f"<mccache.Cache {self._name!r} of node {self._node.id_hex}: {n}>"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


class _Values(ValuesView[Any]):
    """Values by the engine's iterator (not by lookups, which would count as reads)."""

    _mapping: Cache

    def __iter__(self) -> Iterator[Any]:
        dec = self._mapping._vdec
        for _, vb in self._mapping._entries(True):
            yield dec(vb)

    def __contains__(self, value: object) -> bool:
        return any(v is value or v == value for v in self)


class _Items(ItemsView[Any, Any]):
    _mapping: Cache

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        dec = self._mapping._vdec
        for kb, vb in self._mapping._entries(True):
            yield _kdec(kb), dec(vb)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        key, value = item
        v = self._mapping.get(key, _MISSING)
        return v is not _MISSING and (v is value or v == value)


class MetadataView(Mapping[Any, dict[str, Any]]):
    """``cache.metadata[key]``: an entry's metadata, without counting a lookup."""

    __slots__ = ("_cache",)

    def __init__(self, cache: Cache):
        self._cache = cache

    def __getitem__(self, key: Any) -> dict[str, Any]:
        kb = _kenc(key)
        md = _lib.Metadata()
        md.struct_size = ctypes.sizeof(md)
        rc = lib.mccache_metadata(self._cache._h, kb, len(kb), ctypes.byref(md))
        if rc == ENOTFOUND:
            raise KeyError(key)
        check(rc, f"mccache_metadata({self._cache._name!r})")
        out = {name: getattr(md, name) for name, _ in _lib.Metadata._fields_
               if name not in ("struct_size", "reserved0")}
        out["tsm"] = md.updated_ms * 1_000_000
        out["lkp"] = md.last_lookup_ms * 1_000_000
        out["crc"] = md.checksum
        return out

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def __contains__(self, key: object) -> bool:
        return key in self._cache
