"""Short-lived, per-process caches for what nearly every request looks up.

Verified API tokens and resolved municipalities are kept for
``AUTH_CACHE_SECONDS`` (default 10; 0 turns caching off). A revocation or
suspension made in this process takes effect at once; one made elsewhere
(another worker, the CLI) within that many seconds.

Both are shared by every tenant of the process and hold no personal data: a
token's hash, roles and scope, and a municipality's id, slug and status.
Decrypted special-category fields (core/crypto) must never be put in a
ShortCache; the only cache that holds them is the per-tenant one of matching
facts (core/policy/facts.py).
"""
from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import current_app

_MISSING = object()


class ShortCache:
    def __init__(self, seconds: float, maxsize: int = 10_000):
        self._data = TTLCache(maxsize, seconds) if seconds > 0 else None
        self._lock = threading.Lock()

    def get_or_load(self, key, load):
        """The cached value for *key*, or ``load()`` (kept unless it is None or raises)."""
        if self._data is None:
            return load()
        with self._lock:
            value = self._data.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            if value is not None:
                with self._lock:
                    self._data[key] = value
        return value

    def discard(self, key) -> None:
        if self._data is not None:
            with self._lock:
                self._data.pop(key, None)


def init_app(app) -> None:
    seconds = float(app.config["AUTH_CACHE_SECONDS"])
    app.extensions["koppel.cache"] = {"tokens": ShortCache(seconds), "tenants": ShortCache(seconds)}


def get(name: str) -> ShortCache:
    return current_app.extensions["koppel.cache"][name]
