"""Discord's request signature: Ed25519 over X-Signature-Timestamp + the raw body, with the application's public key.

https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

MAX_SKEW_SECONDS = 300  # a timestamp further than this from now is a replay (or a broken clock): refused
PUBLIC_KEY_HEX_LENGTH = 64
SIGNATURE_HEX_LENGTH = 128


class PublicKeyError(ValueError):
    pass


def load_public_key(text: str | None) -> VerifyKey:
    """The Developer Portal's public key (64 hex characters); PublicKeyError with one clear line otherwise."""
    if not text or not text.strip():
        raise PublicKeyError(
            "DISCORD_PUBLIC_KEY is not set: copy the public key from the Discord developer portal "
            "(General Information) into the environment or .env"
        )
    value = text.strip()
    try:
        if len(value) != PUBLIC_KEY_HEX_LENGTH:
            raise ValueError
        return VerifyKey(bytes.fromhex(value))
    except (ValueError, CryptoError):
        raise PublicKeyError(
            f"DISCORD_PUBLIC_KEY does not look like a public key ({PUBLIC_KEY_HEX_LENGTH} hex characters); "
            "check for stray quotes or spaces"
        ) from None


class SignatureVerifier:
    def __init__(self, key: VerifyKey, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.clock = clock

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> bool:
        """True only for a well-formed, valid signature over a timestamp within MAX_SKEW_SECONDS of now."""
        if not timestamp or not signature or len(signature) != SIGNATURE_HEX_LENGTH:
            return False
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(self.clock() - int(timestamp)) > MAX_SKEW_SECONDS:
            return False
        try:
            self.key.verify(timestamp.encode() + body, bytes.fromhex(signature))
        except (ValueError, BadSignatureError):
            return False
        return True
