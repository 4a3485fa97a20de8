"""Path MTU and hop count to another member: McCache's get_mtu() and get_hops().

McCache ran ``ping``/``traceroute`` and printed their result. These probe
with UDP datagrams and read the answers from the socket's error queue
(Linux: ``IP_MTU_DISCOVER``/``IP_RECVERR``, ``IPV6_*`` likewise), so they
need no external program and no privileges, and they return numbers.

They are internal functions behind ``mccache.get_mtu``/``get_hops`` so that,
once the engine exports ``mccache_path_mtu``/``mccache_hops``, those are
used instead (the check is :func:`_engine_fn`).

Probes go to UDP port 33434 and up (traceroute's), where nothing listens:
the destination answers "port unreachable", which tells that it was reached.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import select
import socket
import struct
import time

from ._lib import lib

# <linux/in.h>, <linux/in6.h>, <linux/errqueue.h>
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2
IP_RECVERR = 11
IP_MTU = 14
IPV6_MTU_DISCOVER = 23
IPV6_PMTUDISC_DO = 2
IPV6_RECVERR = 25
IPV6_MTU = 24
IPV6_UNICAST_HOPS = 16
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED = 3, 11
ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED = 1, 2, 3

_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err
PROBE_PORT = 33434
MAX_IP_PACKET = 65535


def _engine_fn(name: str):  # type: ignore[no-untyped-def]
    """The engine's function ``name`` if this libmccache exports it, else None."""
    return getattr(lib, name, None)


def _family(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)  # ValueError for a host name: members are addresses
    if addr.version == 6:
        return socket.AF_INET6, 48  # IPv6 + UDP headers
    return socket.AF_INET, 28  # IPv4 + UDP headers


def _read_error(s: socket.socket, level: int, timeout: float) -> tuple[int, int, int, int, str] | None:
    """Waits up to ``timeout`` s for one error-queue entry: (errno, origin, type, code, info, from)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        p = select.poll()
        p.register(s, select.POLLERR)
        if not p.poll(left * 1000):
            continue
        try:
            _, ancdata, _, _ = s.recvmsg(1024, 512, MSG_ERRQUEUE)
        except BlockingIOError:
            continue
        for clevel, ctype, cdata in ancdata:
            if clevel == level and ctype in (IP_RECVERR, IPV6_RECVERR) and len(cdata) >= _EE.size:
                ee_errno, origin, etype, code, _, info, _ = _EE.unpack_from(cdata)
                offender = ""
                rest = cdata[_EE.size:]
                if len(rest) >= 8 and struct.unpack_from("=H", rest)[0] == socket.AF_INET:
                    offender = socket.inet_ntop(socket.AF_INET, rest[4:8])
                elif len(rest) >= 24 and struct.unpack_from("=H", rest)[0] == socket.AF_INET6:
                    offender = socket.inet_ntop(socket.AF_INET6, rest[8:24])
                return ee_errno, origin, etype, code, info, offender  # type: ignore[return-value]


def path_mtu(ip: str, timeout: float = 1.0) -> int:
    """The largest IP packet (bytes) that reaches ``ip`` unfragmented.

    Sends don't-fragment UDP probes of the size the kernel believes fits; a
    router on the way that cannot forward one answers "fragmentation needed"
    (IPv6: "packet too big") with its next-hop MTU, the kernel lowers its
    estimate, and the probe is repeated smaller, until the destination itself
    answers (port unreachable) or nothing more comes within ``timeout``.
    ``packet_mtu`` for such a path is this minus 28 (IPv4) or 48 (IPv6).
    """
    fn = _engine_fn("mccache_path_mtu")
    if fn is not None:  # pragma: no cover (not in this engine version yet)
        out = ctypes.c_int()
        rc = fn(ip.encode(), ctypes.c_int(int(timeout * 1000)), ctypes.byref(out))
        if rc == 0:
            return out.value
    family, headers = _family(ip)
    v6 = family == socket.AF_INET6
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.setsockopt(level, IPV6_MTU_DISCOVER if v6 else IP_MTU_DISCOVER,
                     IPV6_PMTUDISC_DO if v6 else IP_PMTUDISC_DO)
        s.setsockopt(level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
        s.setblocking(False)
        s.connect((ip, PROBE_PORT))
        for _ in range(64):  # each round lowers the estimate; a path has few distinct MTUs
            mtu = min(s.getsockopt(level, IPV6_MTU if v6 else IP_MTU), MAX_IP_PACKET)
            try:
                s.send(b"\0" * (mtu - headers))
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    continue  # the kernel already knows a smaller MTU: read it again
                if e.errno == errno.ECONNREFUSED:
                    continue  # an earlier probe's answer: the destination is there
                raise
            err = _read_error(s, level, timeout)
            if err is None:
                return mtu  # no complaint: it went through (or silently dropped; nothing smaller known)
            ee_errno, _, _, _, info, _ = err
            if ee_errno == errno.EMSGSIZE:
                if info and info < mtu:
                    continue  # the kernel has the new MTU now
                return mtu
            if ee_errno == errno.ECONNREFUSED:
                return mtu  # the destination answered: this size arrived whole
            raise OSError(ee_errno, f"probing the path MTU to {ip}: {errno.errorcode.get(ee_errno, ee_errno)}")
        raise OSError(errno.EPROTO, f"probing the path MTU to {ip}: no stable answer")


def hops(ip: str, max_hops: int = 20, timeout: float = 1.0) -> int | None:
    """How many hops away ``ip`` is (1 for a neighbour or this host), or None if not reached.

    Like traceroute: a probe with TTL n that a router drops answers "time
    exceeded"; the first TTL whose probe the destination answers ("port
    unreachable") is the hop count. A hop that stays silent for ``timeout``
    is passed over, as traceroute's ``*``.
    """
    if not 1 <= max_hops <= 255:
        raise ValueError(f"max_hops must be in [1, 255], got {max_hops}")
    fn = _engine_fn("mccache_hops")
    if fn is not None:  # pragma: no cover (not in this engine version yet)
        out = ctypes.c_int()
        rc = fn(ip.encode(), ctypes.c_int(max_hops), ctypes.c_int(int(timeout * 1000)), ctypes.byref(out))
        if rc == 0:
            return out.value if out.value > 0 else None
    family, _ = _family(ip)
    v6 = family == socket.AF_INET6
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    for ttl in range(1, max_hops + 1):
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.setsockopt(level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
            s.setsockopt(level, IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, ttl)
            s.setblocking(False)
            s.connect((ip, PROBE_PORT + ttl))
            s.send(b"mccache-hops")
            err = _read_error(s, level, timeout)
            if err is None:
                continue
            ee_errno, origin, etype, code, _, offender = err
            if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                raise OSError(ee_errno, f"probing hops to {ip}: {errno.errorcode.get(ee_errno, ee_errno)}")
            exceeded = ICMP6_TIME_EXCEEDED if v6 else ICMP_TIME_EXCEEDED
            unreach = ICMP6_DST_UNREACH if v6 else ICMP_DEST_UNREACH
            if etype == exceeded:
                continue
            if etype == unreach and ee_errno == errno.ECONNREFUSED:
                return ttl  # port unreachable from the destination itself
            raise OSError(ee_errno, f"probing hops to {ip}: {offender or 'a router'} answered "
                                    f"ICMP type {etype} code {code}")
    return None
