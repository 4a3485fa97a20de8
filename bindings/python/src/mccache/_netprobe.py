"""Path MTU and hop count to another member: McCache's get_mtu() and get_hops().

McCache ran ``ping``/``traceroute`` and printed their result. These call the
engine's ``mccache_path_mtu``/``mccache_hops``, which probe with UDP
datagrams and read the answers from the socket's error queue
(``IP_MTU_DISCOVER``/``IP_RECVERR``): no external program, no privileges,
and they return numbers.
"""

from __future__ import annotations

import ctypes

from ._lib import ETIMEDOUT, OK, lib, make_error


def _timeout_ms(timeout: float) -> int:
    ms = int(timeout * 1000)
    if not 1 <= ms <= 60000:
        raise ValueError(f"timeout must be 0.001 to 60 seconds, got {timeout!r}")
    return ms


def path_mtu(ip: str, timeout: float = 1.0) -> int:
    """The largest IP packet (bytes) that reaches ``ip`` unfragmented.

    ``packet_mtu`` for such a path is this minus 28 (IPv4) or 48 (IPv6).
    Errors: :class:`~mccache.NotFoundError` (no such host),
    :class:`~mccache.MccacheTimeoutError` (no answer), :class:`~mccache.MccacheIOError`
    (no route, unreachable).
    """
    out = ctypes.c_int()
    rc = lib.mccache_path_mtu(ip.encode(), _timeout_ms(timeout), ctypes.byref(out), None)
    if rc != OK:
        raise make_error(rc, f"mccache_path_mtu({ip!r})")
    return out.value


def hops(ip: str, max_hops: int = 20, timeout: float = 1.0) -> int | None:
    """How many hops away ``ip`` is (1 for a neighbour or this host), or None if
    not reached within ``max_hops``."""
    if not 1 <= max_hops <= 255:
        raise ValueError(f"max_hops must be in [1, 255], got {max_hops}")
    out = ctypes.c_int()
    rc = lib.mccache_hops(ip.encode(), max_hops, _timeout_ms(timeout), ctypes.byref(out), None)
    if rc == ETIMEDOUT:
        return None
    if rc != OK:
        raise make_error(rc, f"mccache_hops({ip!r})")
    return out.value
