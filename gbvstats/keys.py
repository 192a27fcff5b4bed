"""Pseudonymisation keys, read at run time and never written anywhere.

A :class:`Key` holds the secret bytes of an HMAC-SHA256 key. Its ``repr`` and ``str`` name only
where the key came from (``env:GBVSTATS_KEY`` or ``file:/path``), never the secret, and it refuses
to be pickled so that it cannot end up in a cache or a multiprocessing payload by accident.

>>> import os
>>> os.environ["GBVSTATS_DOCTEST_KEY"] = "correct horse battery staple"
>>> key = from_env("GBVSTATS_DOCTEST_KEY")
>>> key
Key(source='env:GBVSTATS_DOCTEST_KEY')
>>> del os.environ["GBVSTATS_DOCTEST_KEY"]
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import KeyMissingError, SpecError

__all__ = ["Key", "from_env", "from_file", "resolve"]

#: A key shorter than this many bytes is refused: HMAC keys should carry at least 128 bits.
MIN_KEY_BYTES = 16


class Key:
    """A secret HMAC key and where it came from (never the secret itself).

    Usually made by :func:`from_env`, :func:`from_file` or :func:`resolve`; build one directly
    only for tests and examples.

    Parameters
    ----------
    secret : bytes
        The key, at least ``MIN_KEY_BYTES`` (16) bytes.
    source : str
        Where it came from, e.g. ``"env:GBVSTATS_KEY"``; the only thing ``repr`` shows.

    Raises
    ------
    TypeError
        If ``secret`` is not ``bytes``.
    SpecError
        If ``secret`` is shorter than 16 bytes.

    Notes
    -----
    Two keys are equal when their secrets are; pickling and copying to disk are refused.

    Examples
    --------
    >>> key = Key(b"k" * 32, "example")
    >>> key
    Key(source='example')
    >>> print(key)
    Key(source='example')
    >>> key == Key(b"k" * 32, "elsewhere")
    True
    >>> import pickle
    >>> pickle.dumps(key)
    Traceback (most recent call last):
    ...
    TypeError: a pseudonymisation Key cannot be pickled or copied to disk
    >>> Key(b"short", "example")
    Traceback (most recent call last):
    ...
    gbvstats.errors.SpecError: the pseudonymisation key from example is 5 bytes long; use at least 16 random bytes ...
    """

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

    The variable's text, UTF-8 encoded, is the secret; set it at run time, never in a file
    kept with the data.

    Parameters
    ----------
    name : str, default "GBVSTATS_KEY"
        The environment variable.

    Returns
    -------
    Key
        With ``source == "env:<name>"``.

    Raises
    ------
    KeyMissingError
        If the variable is unset or empty. There is no fallback to an unkeyed hash.
    SpecError
        If the value is shorter than 16 bytes.

    See Also
    --------
    resolve : accepts ``"env:NAME"``, ``"file:PATH"``, a path or a :class:`Key`.

    Examples
    --------
    >>> import os
    >>> os.environ["GBVSTATS_KEY"] = "synthetic-example-key-not-a-secret"
    >>> from_env()
    Key(source='env:GBVSTATS_KEY')
    >>> del os.environ["GBVSTATS_KEY"]
    >>> from_env()
    Traceback (most recent call last):
    ...
    gbvstats.errors.KeyMissingError: no pseudonymisation key: the environment variable GBVSTATS_KEY is not set. ...
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
    """Read a key from a file (its bytes, with a trailing newline removed).

    Parameters
    ----------
    path : str or os.PathLike
        The key file; keep it outside the project and readable only by the analyst.

    Returns
    -------
    Key
        With ``source == "file:<path>"``.

    Raises
    ------
    KeyMissingError
        If the file does not exist, cannot be read or is empty.
    SpecError
        If the key is shorter than 16 bytes.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "gbv.key")
    ...     with open(path, "w") as f:
    ...         print("synthetic-example-key-not-a-secret", file=f)
    ...     key = from_file(path)
    ...     key.source == "file:" + path, len(key.secret)
    (True, 34)
    >>> from_file("no/such/gbv.key")
    Traceback (most recent call last):
    ...
    gbvstats.errors.KeyMissingError: no pseudonymisation key: the key file 'no/such/gbv.key' does not exist. ...
    """
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

    Parameters
    ----------
    source : Key, str, os.PathLike or None
        Where the key is; a :class:`Key` is returned unchanged.
    env : str, default "GBVSTATS_KEY"
        The environment variable read when ``source`` is ``None``.

    Returns
    -------
    Key

    Raises
    ------
    KeyMissingError
        If the variable or file named is missing or empty.

    Examples
    --------
    >>> import os
    >>> os.environ["GBVSTATS_KEY"] = "synthetic-example-key-not-a-secret"
    >>> resolve(None)
    Key(source='env:GBVSTATS_KEY')
    >>> resolve("env:GBVSTATS_KEY")
    Key(source='env:GBVSTATS_KEY')
    >>> resolve(Key(b"k" * 32, "example"))
    Key(source='example')
    >>> del os.environ["GBVSTATS_KEY"]
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
