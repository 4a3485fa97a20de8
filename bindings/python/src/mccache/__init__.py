"""McCache's Python API on libmccache, the native replicated cache engine.

Existing McCache code keeps working::

    import mccache
    c = mccache.get_cache("demo")
    c["k1"] = "v1"          # replicated to every member of the cluster
    c.metadata["k1"]        # {'tsm': ..., 'lkp': ..., 'crc': ..., 'version_hlc': ...}

The module-level functions use one default node, opened at the first call
that needs it, with settings from ``[tool.mccache]`` in ``./pyproject.toml``,
then ``MCCACHE_*`` environment variables, then :func:`configure`'s arguments.
:class:`Node` opens further nodes explicitly. Nothing starts at import.

Values that are not ``str`` or ``bytes`` go through a codec, JSON by default
(:mod:`mccache.codecs`); pickle only when asked for and with a crypto key.
"""

from __future__ import annotations

import atexit
import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from . import _lib, _netprobe
from ._cache import DELETE, INCOHERENT, UPDATE, Cache, MetadataView
from ._node import Node, close_all
from .codecs import Codec, JsonCodec, MsgpackCodec, PickleCodec
from .errors import (
    BufferTooSmallError,
    BusyError,
    CanceledError,
    ClosedError,
    CodecError,
    ConfigError,
    ExistsError,
    InternalError,
    InvalidArgumentError,
    MccacheError,
    MccacheIOError,
    MccacheTimeoutError,
    NoMemoryError,
    NotFoundError,
    NotSupportedError,
    StaleError,
    TooBigError,
    UserError,
)

__version__ = "0.2.0"
ENGINE_VERSION: str = _lib.lib.mccache_version_string().decode()
LIBRARY_PATH: str = _lib.library_path
DEFAULT_CACHE = "mccache"  # McCache's default namespace

__all__ = [
    "Cache", "MetadataView", "Node", "Codec", "JsonCodec", "MsgpackCodec", "PickleCodec",
    "DELETE", "UPDATE", "INCOHERENT", "DEFAULT_CACHE", "ENGINE_VERSION", "LIBRARY_PATH",
    "configure", "default_node", "shutdown", "get_cache", "clear_cache", "memoize",
    "get_local_metrics", "get_local_checksum", "get_cluster_metrics", "get_cluster_checksum",
    "get_mtu", "get_hops", "generate_key",
    "MccacheError", "InvalidArgumentError", "NoMemoryError", "NotFoundError", "ExistsError",
    "BufferTooSmallError", "TooBigError", "ClosedError", "MccacheTimeoutError", "CanceledError",
    "BusyError", "ConfigError", "MccacheIOError", "StaleError", "UserError", "NotSupportedError",
    "InternalError", "CodecError",
]

_default_lock = threading.Lock()
_default_node: Node | None = None
_default_args: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

atexit.register(close_all)


def configure(settings: Mapping[str, Any] | None = None, *, pyproject: bool | str = True,
              env: bool = True, **kwargs: Any) -> None:
    """Settings for the default node, which opens at the first call that needs it.

    Arguments are the strongest source (over ``MCCACHE_*`` and pyproject.toml),
    with the engine's keys: ``configure(interface="127.0.0.1", cache_ttl=900)``;
    per-cache keys go in ``settings``: ``configure({"demo.cache_max": 1000})``.
    Raises :class:`BusyError` once the default node is open (see :func:`shutdown`).
    """
    global _default_args
    with _default_lock:
        if _default_node is not None and not _default_node.closed:
            raise BusyError("the default node is already open: call mccache.shutdown() first")
        merged = dict(settings or {})
        merged.update(kwargs)
        _default_args = (merged, {"pyproject": pyproject, "env": env})


def default_node() -> Node:
    """The default node of the module-level functions, opened on first use."""
    global _default_node
    with _default_lock:
        if _default_node is None or _default_node.closed:
            settings, opts = _default_args
            _default_node = Node(settings, **opts)
        return _default_node


def shutdown() -> None:
    """Close the default node (it reopens, with :func:`configure`'s settings, on next use)."""
    global _default_node
    with _default_lock:
        node, _default_node = _default_node, None
    if node is not None:
        node.close()


def get_cache(name: str | None = None, callback: Callable[[dict[str, Any]], Any] | None = None, *,
              codec: Codec | None = None, raw: bool = False, node: Node | None = None) -> Cache:
    """McCache's factory: the cache ``name`` (default ``"mccache"``) of the default node.

    ``callback(ctx)`` is called on a Python thread for changes (see :class:`Cache`).
    ``codec`` encodes values that are not str/bytes (default JSON); ``raw=True``
    stores bytes without type tags. ``node`` picks another node than the default.
    """
    return (node or default_node()).cache(name or DEFAULT_CACHE, callback, codec=codec, raw=raw)


def memoize(name: str | None = None, ttl: float | None = None, timeout: float | None = None
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator that memoizes a function in cache ``name`` of the default node, loading each
    result once across the cluster (:meth:`Cache.memoize`, :meth:`Cache.get_or_load`)."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        bound: list[Callable[..., Any]] = []  # the node opens at the first call, not at decoration

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not bound:
                bound.append(get_cache(name).memoize(ttl, timeout)(fn))
            return bound[0](*args, **kwargs)

        return wrapper

    return decorate


def _node(node: Node | None) -> Node:
    return node if isinstance(node, Node) else default_node()


def clear_cache(name: str | None = None, node: str | int | None = None) -> dict[str, int]:
    """Clear cache ``name`` (all caches of this node when None) on every member.

    Each clear is one versioned operation that replicates: every member drops
    every entry older than it. Returns ``{cache name: entries cleared here}``.
    ``node`` must be None or this node: the engine has no clear of one remote
    member only (:class:`NotSupportedError`).
    """
    n = default_node()
    if node is not None and _resolve_nodes(n, node) != {n.id_hex}:
        raise NotSupportedError(
            f"clear_cache(node={node!r}): a clear replicates to every member; clearing only "
            "another member is not supported", code=_lib.ENOTSUP, name="MCCACHE_ENOTSUP")
    names = [name] if name is not None else n.cache_names()
    out = {}
    for cname in names:
        c = n.cache(cname)
        out[cname] = len(c)
        c.clear()
    return out


def get_local_metrics(name: str | None = None) -> dict[str, Any]:
    """This node's metrics: all of them (``{"node", "caches", "cluster"}``), or one cache's."""
    n = default_node()
    if name is None:
        return n.metrics()
    return n.cache(name).metrics()


def get_local_checksum(name: str | None = None, key: Any = None) -> dict[Any, dict[str, Any]]:
    """McCache's per-key checksums of cache ``name`` (default ``"mccache"``), or of one ``key``.

    ``{key: {"crc": "16 hex digits", "tsm": ns of last write, "version": (hlc, node)}}``,
    in the order of the keys' stored bytes. The whole cache's digest is
    ``get_cache(name).checksum()``.
    """
    c = get_cache(name)
    keys = [key] if key is not None else list(c)
    rows = []
    for k in keys:
        try:
            md = c.metadata[k]
        except KeyError:
            continue
        rows.append((_lib_key(k), k, {"crc": f"{md['checksum']:016x}", "tsm": md["tsm"],
                                     "version": (md["version_hlc"], md["version_node"])}))
    rows.sort(key=lambda r: r[0])
    return {k: v for _, k, v in rows}


def _lib_key(k: Any) -> bytes:
    from .codecs import KeyCodec  # noqa: PLC0415

    return KeyCodec.encode(k)


def _resolve_nodes(n: Node, spec: str | int) -> set[str]:
    """Node ids (16 hex digits) named by ``spec``: an id (int or hex) or an address (ip or ip:port)."""
    if isinstance(spec, int):
        return {f"{spec:016x}"}
    text = str(spec).strip().lower()
    if len(text) == 16 and all(ch in "0123456789abcdef" for ch in text):
        return {text}
    doc = n.members()
    everyone = [doc.get("self", {})] + doc.get("members", [])
    ids = {m["id"] for m in everyone
           if m.get("address") == text or m.get("address", "").rsplit(":", 1)[0].strip("[]") == text}
    if not ids:
        raise InvalidArgumentError(f"no member with id or address {spec!r}", code=_lib.EINVAL,
                                   name="MCCACHE_EINVAL")
    return ids


def get_cluster_metrics(name: str | None = None, node: str | int | None = None, *,
                        timeout: float = 2.0) -> dict[str, Any]:
    """Every member's metrics (this node's too): ``{node id hex: metrics}``.

    McCache only made members log these; they are returned here. With ``name``,
    each member's metrics of that cache (``{}`` where it is not open); with
    ``node`` (an id or an address), that member's only. Members that do not
    answer within ``timeout`` seconds are missing from the result.
    """
    n = default_node()
    doc = n.collect("metrics", None, timeout)
    replies: dict[str, Any] = doc.get("replies", {})
    if node is not None:
        wanted = _resolve_nodes(n, node)
        replies = {k: v for k, v in replies.items() if k in wanted}
    if name is not None:
        replies = {k: v.get("caches", {}).get(name, {}) for k, v in replies.items()}
    return replies


def get_cluster_checksum(name: str | None = None, key: Any = None, node: str | int | None = None, *,
                         timeout: float = 2.0) -> dict[str, dict[str, Any]]:
    """Every member's digest of cache ``name`` (default ``"mccache"``): ``{node id hex: {"checksum", "entries"}}``.

    Coherent members show the same checksum. A member without the cache
    shows checksum ``"0000000000000000"`` and 0 entries (an empty cache's).
    ``key`` is answered only for this node (:class:`NotSupportedError` for
    others: the engine's cluster query is per cache).
    """
    n = default_node()
    cname = name or DEFAULT_CACHE
    wanted = _resolve_nodes(n, node) if node is not None else None
    if key is not None:
        if wanted != {n.id_hex}:
            raise NotSupportedError(
                "get_cluster_checksum(key=...): members report whole-cache digests only; "
                "pass node=<this node> or compare get_local_checksum() on each member",
                code=_lib.ENOTSUP, name="MCCACHE_ENOTSUP")
        row = get_local_checksum(cname, key)
        return {n.id_hex: row}
    doc = n.collect("checksums", cname, timeout)
    out = {}
    for nid, answer in doc.get("replies", {}).items():
        if wanted is not None and nid not in wanted:
            continue
        c = answer.get("caches", {}).get(cname, {})
        out[nid] = {"checksum": c.get("checksum", "0" * 16), "entries": c.get("entries", 0)}
    return out


def get_mtu(ip: str) -> int:
    """Path MTU to ``ip`` in bytes (the largest unfragmented IP packet); see :mod:`mccache._netprobe`.

    McCache printed this; it is returned. ``packet_mtu`` for that path is
    the result minus 28 (IPv4) or 48 (IPv6).
    """
    return _netprobe.path_mtu(ip)


def get_hops(ip: str, max_hops: int = 20) -> int | None:
    """Hop count to ``ip`` (1: on this link or this host), or None if not reached within ``max_hops``."""
    return _netprobe.hops(ip, max_hops)


def generate_key() -> str:
    """A new cluster key for ``crypto_key``: base64 of 32 random bytes from the OS."""
    import ctypes  # noqa: PLC0415

    buf = ctypes.create_string_buffer(64)
    _lib.check(_lib.lib.mccache_generate_key(buf, len(buf)), "mccache_generate_key")
    return buf.value.decode()
