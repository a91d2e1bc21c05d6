"""API keys: compared in constant time, never logged or returned."""

from __future__ import annotations

import hashlib
import hmac

KEY_ID_CHARS = 16


class ApiKeys:
    def __init__(self, keys: list[str]) -> None:
        # Keep only digests, so comparing does not leak a key's length or prefix through timing.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def check(self, presented: str | None) -> bool:
        return self.identify(presented) is not None

    def identify(self, presented: str | None) -> str | None:
        """The key's public id (a digest prefix, safe to log and to put in tokens), or None."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        found: bytes | None = None
        for known in self._digests:  # no early exit: the time does not tell which key matched
            if hmac.compare_digest(digest, known):
                found = known
        return found.hex()[:KEY_ID_CHARS] if found else None
