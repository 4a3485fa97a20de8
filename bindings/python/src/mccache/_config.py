"""Settings from McCache's sources, applied to an engine configuration.

Precedence, weakest first (McCache's, extended with arguments):

1. the engine's built-in defaults;
2. ``[tool.mccache]`` in ``./pyproject.toml`` (the current directory, as McCache);
3. ``MCCACHE_*`` environment variables (read by the engine itself);
4. arguments (``Node(cache_ttl=60)``, ``mccache.configure(...)``).

The engine knows only three sources (file, environment, setter) and ranks the
setter highest, so a pyproject value is set only when the environment does
not set the same key: which keys the environment sets is asked of the engine
(a scratch configuration that loads only the environment, read back as JSON
with its sources), never guessed here.

Keys are the engine's (docs/CONFIG.md). McCache's short names ``ttl`` and
``mtu`` are accepted in pyproject.toml, as the engine accepts
``MCCACHE_TTL``/``MCCACHE_MTU``. A sub-table ``[tool.mccache.NAME]`` sets
cache ``NAME``. McCache's own knobs that have no meaning here (``congestion``,
``log_msgfmt``, ``packet_pace``, ...) are ignored with a warning, so an
existing McCache pyproject.toml keeps working.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _lib
from ._lib import check, lib
from .errors import ConfigError

log = logging.getLogger("mccache")

# McCache settings with no counterpart in the engine: accepted and ignored.
MCCACHE_ONLY = frozenset({
    "congestion", "log_msgfmt", "packet_pace", "alert_email", "random_seed",
    "debug_level", "monkey_tantrum", "key_entries", "data_size_mix", "run_duration",
    "aperture", "cluster_size",
})
ALIASES = {"ttl": "cache_ttl", "mtu": "packet_mtu"}


def setting_text(key: str, value: Any) -> str:
    """A Python value as the engine's text form of a setting."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, _dt.timedelta):
        return f"{round(value.total_seconds() * 1000)}ms"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(setting_text(key, v) for v in value)
    raise ConfigError(f"{key}: unsupported value type {type(value).__name__} ({value!r})")


def read_pyproject(path: Path) -> dict[str, str]:
    """The settings of ``[tool.mccache]`` in ``path``, flattened to engine keys."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    table = data.get("tool", {}).get("mccache")
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.mccache] must be a table")
    out: dict[str, str] = {}

    def add(prefix: str, tbl: Mapping[str, Any]) -> None:
        for k, v in tbl.items():
            name = k.lower()
            if isinstance(v, dict):
                if prefix:
                    raise ConfigError(f"{path}: [tool.mccache.{prefix}{k}] nests too deep")
                add(f"{k}.", v)
                continue
            if name in MCCACHE_ONLY:
                log.warning("%s: [tool.mccache] %s is a McCache setting that libmccache does not use; ignored",
                            path, k)
                continue
            out[prefix + ALIASES.get(name, name)] = setting_text(k, v)

    add("", table)
    return out


class Config:
    """An owned engine configuration handle."""

    def __init__(self) -> None:
        h = ctypes.c_void_p()
        check(lib.mccache_config_new(ctypes.byref(h)), "mccache_config_new")
        self.handle = h

    def set(self, key: str, value: str, where: str = "") -> None:
        rc = lib.mccache_config_set(self.handle, key.encode(), value.encode())
        if rc != _lib.OK:
            err = _lib.make_error(rc, "mccache_config_set")
            if where:
                raise type(err)(f"{where}: {err.detail or err}", code=rc, name=err.name,
                                detail=err.detail) from None
            raise err

    def get(self, key: str) -> str:
        n = ctypes.c_size_t(256)
        while True:
            buf = ctypes.create_string_buffer(n.value)
            rc = lib.mccache_config_get(self.handle, key.encode(), buf, ctypes.byref(n))
            if rc == _lib.EBUFS:
                continue
            check(rc, f"mccache_config_get({key!r})")
            return buf.value.decode()

    def load_env(self) -> None:
        check(lib.mccache_config_load_env(self.handle), "mccache_config_load_env")

    def to_json(self) -> dict[str, Any]:
        return json.loads(_lib.take_json(lib.mccache_config_to_json, self.handle,
                                         what="mccache_config_to_json"))

    def free(self) -> None:
        if self.handle:
            lib.mccache_config_free(self.handle)
            self.handle = ctypes.c_void_p()

    def __del__(self) -> None:
        self.free()


def env_keys() -> set[str]:
    """The setting names the current ``MCCACHE_*`` environment sets (asked of the engine)."""
    probe = Config()
    try:
        probe.load_env()
        doc = probe.to_json()
    finally:
        probe.free()
    return {k for k, v in doc.get("node", {}).items()
            if isinstance(v, dict) and str(v.get("source", "")).startswith("env:")}


def build(settings: Mapping[str, Any] | None, *, pyproject: bool | str | os.PathLike[str] = True,
          env: bool = True) -> Config:
    """A configuration from pyproject.toml, the environment and ``settings``, by that precedence.

    ``pyproject``: True reads ``./pyproject.toml`` if it exists, a path reads
    that file (which must exist), False reads none. ``env``: whether
    ``MCCACHE_*`` variables are read.
    """
    cfg = Config()
    try:
        path: Path | None = None
        if pyproject is True:
            candidate = Path.cwd() / "pyproject.toml"
            path = candidate if candidate.is_file() else None
        elif pyproject:
            path = Path(pyproject)
            if not path.is_file():
                raise ConfigError(f"{path}: no such file (pyproject=)")
        if path is not None:
            from_file = read_pyproject(path)
            overridden = env_keys() if env else set()
            for key, value in from_file.items():
                if key in overridden:
                    log.debug("%s: [tool.mccache] %s is overridden by the environment", path, key)
                    continue
                cfg.set(key, value, where=f"{path} [tool.mccache] {key}")
        if env:
            cfg.load_env()
        for key, value in (settings or {}).items():
            cfg.set(key, setting_text(key, value))
        return cfg
    except BaseException:
        cfg.free()
        raise
