"""How Python keys and values become the engine's bytes, and back.

The engine stores bytes; other-language members (C, Go, Rust, Java) see
exactly those bytes. The encoding is designed so that the common case looks
like plain bytes to them, and so that every Python value comes back as the
type it was stored as.

Values (default mode):

* ``str``: its UTF-8 bytes, untagged. Another language reads the text.
* ``bytes``/``bytearray``/``memoryview``: the bytes themselves, untagged,
  unless they would read back as text or as a tag: bytes that are valid
  UTF-8, or that start with ``0xC1``, are stored as ``C1 62 ('b') <bytes>``.
* anything else: ``C1 <codec tag> <codec output>``, where the codec is the
  cache's (``JsonCodec``, tag ``j``, by default).

``0xC1`` can never start (or appear in) valid UTF-8, and msgpack leaves it
unused, so a tagged value is never confused with text. Reading: a value
starting with ``C1`` is decoded by the codec its tag names (if this cache
allows that codec); otherwise valid UTF-8 comes back as ``str`` and anything
else as ``bytes``. So a value that another language wrote as UTF-8 text
reads as ``str`` in Python, and binary data as ``bytes``.

With ``raw=True`` a cache does no tagging at all: ``str`` is stored as UTF-8,
bytes as they are, other objects as the codec's output (plain JSON by
default), and every read returns ``bytes``.

Keys: ``str`` as UTF-8; bytes as for values; ``int``, ``float``, ``bool``,
``None`` and tuples of those as ``C1 6A ('j') <compact JSON>`` (a tuple is a
JSON array; it reads back as a tuple). Keys are compared by these bytes, so
``1``, ``1.0`` and ``True`` are three different keys here (unlike a dict).

Pickle is never used unless a cache is given ``PickleCodec()`` explicitly,
and ``get_cache`` refuses that unless the node has a ``crypto_key``, so that
only holders of the cluster key can make a node unpickle anything. A cache
without ``PickleCodec`` refuses to unpickle a value tagged ``p`` (it raises
:class:`~mccache.CodecError`).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Protocol, runtime_checkable

from .errors import CodecError

__all__ = ["Codec", "JsonCodec", "MsgpackCodec", "PickleCodec", "TAG", "ValueCodec", "KeyCodec"]

TAG = 0xC1
_TAG_BYTE = b"\xc1"
_BYTES_TAG = b"\xc1b"
_JSON_TAG = b"\xc1j"
_RESERVED = {b"b"}  # tags a codec may not use


@runtime_checkable
class Codec(Protocol):
    """A value codec: ``tag`` is one ASCII byte naming it on the wire."""

    tag: bytes
    safe: bool  # False only for codecs that can run code when decoding (pickle)

    def encode(self, obj: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JsonCodec:
    """JSON (the standard library's): the default, safe, readable in every language.

    ``default`` and ``object_hook`` are passed to :func:`json.dumps` and
    :func:`json.loads`, to extend it to more types. JSON has no tuples (they
    come back as lists) and only string object keys.
    """

    tag = b"j"
    safe = True

    def __init__(self, *, default: Callable[[Any], Any] | None = None,
                 object_hook: Callable[[dict[str, Any]], Any] | None = None):
        self._enc = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False,
                                     allow_nan=False, default=default)
        self._dec = json.JSONDecoder(object_hook=object_hook)

    def encode(self, obj: Any) -> bytes:
        return self._enc.encode(obj).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return self._dec.decode(data.decode("utf-8"))

    def __repr__(self) -> str:
        return "JsonCodec()"


class MsgpackCodec:
    """MessagePack (the ``msgpack`` package, ``pip install libmccache[msgpack]``): safe and compact.

    Timezone-aware ``datetime`` values round-trip (msgpack's timestamp type;
    they come back in UTC); naive ones are refused. Tuples come back as lists.
    """

    tag = b"m"
    safe = True

    def __init__(self) -> None:
        try:
            import msgpack  # noqa: PLC0415 (optional dependency)
        except ImportError as e:
            raise CodecError("MsgpackCodec needs the msgpack package: pip install msgpack") from e
        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb

    def encode(self, obj: Any) -> bytes:
        return self._packb(obj, use_bin_type=True, datetime=True)

    def decode(self, data: bytes) -> Any:
        return self._unpackb(data, raw=False, timestamp=3, strict_map_key=False)

    def __repr__(self) -> str:
        return "MsgpackCodec()"


class PickleCodec:
    """Pickle: any picklable object. Unpickling runs code chosen by whoever wrote the value.

    Only for clusters whose every member is trusted: ``get_cache`` accepts it
    only when the node has a ``crypto_key`` (so only key holders can write
    values this node unpickles), and only when passed explicitly.
    """

    tag = b"p"
    safe = False

    def __init__(self, protocol: int | None = None):
        import pickle  # noqa: PLC0415 (only when asked for)

        self._pickle = pickle
        self._protocol = protocol if protocol is not None else pickle.HIGHEST_PROTOCOL

    def encode(self, obj: Any) -> bytes:
        return self._pickle.dumps(obj, protocol=self._protocol)

    def decode(self, data: bytes) -> Any:
        return self._pickle.loads(data)

    def __repr__(self) -> str:
        return "PickleCodec()"


def _bytes_need_tag(b: bytes) -> bool:
    """Whether raw bytes would read back as something else (text or a tagged value)."""
    if not b or b[0] == TAG:
        return True
    if b.isascii():
        return True
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class ValueCodec:
    """A cache's value encoding: its write codec and the codecs it accepts on read."""

    __slots__ = ("codec", "raw", "_readers", "_tagged_prefix")

    def __init__(self, codec: Codec | None = None, *, raw: bool = False):
        self.codec: Codec = codec if codec is not None else JsonCodec()
        if not isinstance(self.codec, Codec):
            raise TypeError(f"codec must have tag, safe, encode() and decode(); got {self.codec!r}")
        tag = self.codec.tag
        if not isinstance(tag, bytes) or len(tag) != 1 or tag in _RESERVED or tag == _TAG_BYTE:
            raise ValueError(f"codec tag must be one byte other than b'b' and 0xC1; got {tag!r}")
        self.raw = raw
        readers: dict[bytes, Codec] = {b"j": JsonCodec()}
        try:
            readers[b"m"] = MsgpackCodec()
        except CodecError:
            pass
        readers[tag] = self.codec
        self._readers = readers
        self._tagged_prefix = _TAG_BYTE + tag

    def encode(self, value: Any) -> bytes:
        t = type(value)
        if t is str:
            return value.encode("utf-8")
        if t is bytes or t is bytearray or t is memoryview:
            b = bytes(value)
            if self.raw or not _bytes_need_tag(b):
                return b
            return _BYTES_TAG + b
        try:
            body = self.codec.encode(value)
        except Exception as e:  # noqa: BLE001 (any codec failure is a CodecError)
            raise CodecError(
                f"cannot encode a {t.__name__} value with {self.codec!r}: {e} "
                "(str and bytes are stored as they are; other values need a codec that "
                "knows their type, e.g. get_cache(name, codec=mccache.MsgpackCodec()))"
            ) from e
        return body if self.raw else self._tagged_prefix + body

    def decode(self, data: bytes) -> Any:
        if self.raw:
            return data
        if data[:1] == _TAG_BYTE:
            tag = data[1:2]
            if tag == b"b":
                return data[2:]
            reader = self._readers.get(tag)
            if reader is None:
                why = ("pickle is only read by a cache given PickleCodec()" if tag == b"p"
                       else "no codec of this cache has that tag")
                raise CodecError(f"value tagged {tag!r} cannot be decoded: {why}")
            try:
                return reader.decode(data[2:])
            except Exception as e:  # noqa: BLE001
                raise CodecError(f"cannot decode a value with {reader!r}: {e}") from e
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data


def _check_key(k: Any) -> None:
    t = type(k)
    if t is tuple:
        for item in k:
            _check_key(item)
    elif t not in (int, float, bool, type(None), str):
        raise TypeError(f"unsupported key type {t.__name__}: keys are str, bytes, int, float, bool, "
                        "None or tuples of them")


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(i) for i in x) if type(x) is list else x


_KEY_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class KeyCodec:
    """Keys: str as UTF-8, bytes (tagged when ambiguous), scalars and tuples as tagged JSON."""

    @staticmethod
    def encode(key: Any) -> bytes:
        t = type(key)
        if t is str:
            return key.encode("utf-8")
        if t is bytes or t is bytearray or t is memoryview:
            b = bytes(key)
            return _BYTES_TAG + b if _bytes_need_tag(b) else b
        _check_key(key)
        try:
            return _JSON_TAG + _KEY_JSON.encode(key).encode("utf-8")
        except ValueError as e:
            raise CodecError(f"cannot encode key {key!r}: {e}") from e

    @staticmethod
    def decode(data: bytes) -> Any:
        if data[:1] == _TAG_BYTE:
            tag = data[1:2]
            if tag == b"b":
                return data[2:]
            if tag == b"j":
                try:
                    return _tuplify(json.loads(data[2:].decode("utf-8")))
                except ValueError:
                    return data
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
