"""The Toast API client: the only code in billing that speaks HTTP to Toast.

Public surface: ``ToastClient`` (facade with ``customers``, ``setup_intents``,
``payment_methods``, ``payment_intents``, ``mandates``, ``orders``), the error tree in
``billing.toast.errors``, ``TokenCache`` / ``InMemoryTokenCache`` / ``CachedToken`` for sharing
the bearer token between workers, ``RateLimiter`` and the models in ``billing.toast.models``.
"""

from __future__ import annotations

from billing.toast.auth import CachedToken, InMemoryTokenCache, TokenCache
from billing.toast.facade import ToastClient
from billing.toast.ratelimit import RateLimiter

__all__ = ["CachedToken", "InMemoryTokenCache", "RateLimiter", "ToastClient", "TokenCache"]
