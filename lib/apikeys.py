"""API keys: compared in constant time, never logged or returned."""

from __future__ import annotations

import hashlib
import hmac


class ApiKeys:
    def __init__(self, keys: list[str]) -> None:
        # Keep only digests, so comparing does not leak a key's length or prefix through timing.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def check(self, presented: str | None) -> bool:
        if not presented:
            return False
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found
