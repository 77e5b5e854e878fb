"""A thread-local overlay for ``os.environ`` (gotcha G1).

Each in-process Lambda invocation needs its own environment variables, while moto's Step Functions worker threads keep
reading ``os.environ`` to build boto3 clients. Mutating the real environment per invocation races with them, so
``os.environ`` is replaced by a mapping that reads a per-thread layer first and falls through to the real environment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

_DELETED = object()


class OverlayEnviron(MutableMapping[str, str]):
    """``os.environ`` replacement: the current thread's layer (if any) shadows the process environment."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base
        self._local = threading.local()

    def _layer(self) -> dict[str, object] | None:
        return getattr(self._local, "layer", None)

    @contextmanager
    def layer(self, values: Mapping[str, str], hide: tuple[str, ...] = ()) -> Iterator[None]:
        """Run the block with ``values`` visible (and ``hide`` removed) for the current thread only."""
        previous = self._layer()
        new_layer: dict[str, object] = dict.fromkeys(hide, _DELETED)
        new_layer.update(values)
        self._local.layer = new_layer
        try:
            yield
        finally:
            self._local.layer = previous

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None and key in layer:
            value = layer[key]
            if value is _DELETED:
                raise KeyError(key)
            return value  # type: ignore[return-value]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is not None:  # a handler's writes stay in its own environment, as in a Lambda sandbox
            layer[key] = str(value)
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is not None:
            if key not in self:
                raise KeyError(key)
            layer[key] = _DELETED
        else:
            del self.base[key]

    def _keys(self) -> list[str]:
        layer = self._layer()
        if layer is None:
            return list(self.base.keys())
        keys = [k for k in list(self.base) if layer.get(k, None) is not _DELETED]
        keys += [k for k, v in layer.items() if v is not _DELETED and k not in self.base]
        return keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())  # a snapshot: safe while other threads change the environment

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def copy(self) -> dict[str, str]:
        return {k: self[k] for k in self._keys() if k in self}

    def __repr__(self) -> str:
        return f"OverlayEnviron({self.copy()!r})"


def install() -> OverlayEnviron:
    """Replace ``os.environ`` with an overlay (idempotent); returns the overlay."""
    if isinstance(os.environ, OverlayEnviron):
        return os.environ
    overlay = OverlayEnviron(os.environ)
    os.environ = overlay  # type: ignore[assignment]  # noqa: B003 - replacing, not clearing, is the point
    return overlay


def uninstall(overlay: OverlayEnviron) -> None:
    if os.environ is overlay:
        os.environ = overlay.base  # type: ignore[assignment]  # noqa: B003
