"""Pseudonymisation keys, read at run time and never written anywhere.

A :class:`Key` holds the secret bytes of an HMAC-SHA256 key. Its ``repr`` and ``str`` name only
where the key came from (``env:GBVSTATS_KEY`` or ``file:/path``), never the secret, and it refuses
to be pickled so that it cannot end up in a cache or a multiprocessing payload by accident.

>>> import os
>>> os.environ["GBVSTATS_DOCTEST_KEY"] = "correct horse battery staple"
>>> key = from_env("GBVSTATS_DOCTEST_KEY")
>>> key
Key(source='env:GBVSTATS_DOCTEST_KEY')
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import KeyMissingError, SpecError

__all__ = ["Key", "from_env", "from_file", "resolve"]

#: A key shorter than this many bytes is refused: HMAC keys should carry at least 128 bits.
MIN_KEY_BYTES = 16


class Key:
    """A secret HMAC key and where it came from (never the secret itself)."""

    __slots__ = ("_secret", "source")

    def __init__(self, secret: bytes, source: str) -> None:
        if not isinstance(secret, bytes):
            raise TypeError("Key secret must be bytes")
        if len(secret) < MIN_KEY_BYTES:
            raise SpecError(
                f"the pseudonymisation key from {source} is {len(secret)} bytes long; "
                f"use at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
            )
        self._secret = secret
        self.source = source

    def __repr__(self) -> str:
        return f"Key(source={self.source!r})"

    __str__ = __repr__

    def __reduce__(self):  # noqa: D105 - refuse pickling: a key must not be serialised
        raise TypeError("a pseudonymisation Key cannot be pickled or copied to disk")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(("gbvstats.Key", self.source))

    @property
    def secret(self) -> bytes:
        """The key bytes: for the HMAC functions only; never log or write them."""
        return self._secret


def from_env(name: str = "GBVSTATS_KEY") -> Key:
    """Read a key from the environment variable ``name``.

    Raises
    ------
    KeyMissingError
        If the variable is unset or empty. There is no fallback to an unkeyed hash.
    """
    value = os.environ.get(name)
    if not value:
        raise KeyMissingError(
            f"no pseudonymisation key: the environment variable {name} is not set. "
            f"Set it at run time (e.g. `export {name}=$(cat /secure/place/key)`) or pass a key file; "
            "gbvstats never falls back to an unkeyed hash"
        )
    return Key(value.encode("utf-8"), f"env:{name}")


def from_file(path: str | os.PathLike[str]) -> Key:
    """Read a key from a file (its bytes, with a trailing newline removed)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise KeyMissingError(
            f"no pseudonymisation key: the key file {str(p)!r} does not exist. "
            "Give the path of an existing key file, or set the key in an environment variable"
        ) from None
    except OSError as exc:
        raise KeyMissingError(f"the key file {str(p)!r} cannot be read ({exc.strerror}); check its permissions") from None
    data = data.rstrip(b"\r\n")
    if not data:
        raise KeyMissingError(f"the key file {str(p)!r} is empty; put at least {MIN_KEY_BYTES} random bytes in it")
    return Key(data, f"file:{p}")


def resolve(source: Key | str | os.PathLike[str] | None, *, env: str = "GBVSTATS_KEY") -> Key:
    """Turn a key source into a :class:`Key`.

    ``source`` may be a :class:`Key`, ``"env:NAME"``, ``"file:PATH"``, a path to a key file, or
    ``None`` (read the environment variable ``env``).
    """
    if isinstance(source, Key):
        return source
    if source is None:
        return from_env(env)
    text = os.fspath(source)
    if text.startswith("env:"):
        return from_env(text[4:])
    if text.startswith("file:"):
        return from_file(text[5:])
    return from_file(text)
