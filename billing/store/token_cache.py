"""The Toast token shared by every worker process through the store (``toast_token`` table).

Implements ``billing.toast.auth.TokenCache``: N workers on one database log in once, not N
times, which keeps them under Toast's "at most two logins per hour" rule.
"""

from __future__ import annotations

import asyncio

from billing.errors import DuplicateKey
from billing.store.db import Store
from billing.store.tables import ToastToken
from billing.toast.auth import CachedToken

KEY = "default"


class StoreTokenCache:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"StoreTokenCache({self._store!r})"

    async def load(self) -> CachedToken | None:
        return await asyncio.to_thread(self._load)

    async def save(self, token: CachedToken) -> None:
        try:
            await asyncio.to_thread(self._save, token)
        except DuplicateKey:  # another worker inserted the row first: last writer wins
            await asyncio.to_thread(self._save, token)

    def _load(self) -> CachedToken | None:
        with self._store.transaction() as session:
            row = session.get(ToastToken, KEY)
            if row is None:
                return None
            return CachedToken(access_token=row.access_token, expires_at=row.expires_at)

    def _save(self, token: CachedToken) -> None:
        with self._store.transaction() as session:
            row = session.get(ToastToken, KEY)
            if row is None:
                row = ToastToken(key=KEY, access_token="", expires_at=token.expires_at)
                session.add(row)
            row.access_token = token.access_token
            row.expires_at = token.expires_at
