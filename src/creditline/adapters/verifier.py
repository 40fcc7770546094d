"""Step-up verifiers: the local one (development) and the signed-token one (production).

Local: the code of a challenge is six digits derived from a secret and the challenge id
(HMAC-SHA256), so nothing needs to be stored or sent: `creditline risk challenge-code ID`
prints it, as an SMS gateway would deliver it. Its default secret is public, so it works
only in development mode (`config.Settings.production_problems`).

Signed: the platform runs the verification itself (SMS, face check, its app) and, once
the consumer passed, hands back the token `hex(HMAC-SHA256(secret, challenge_id))`
computed with the secret it shares with creditline (CREDITLINE_VERIFIER_SECRET). Only a
holder of the secret can produce it, and it is good for that challenge alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from creditline.domain.risk.challenge import Challenge

CODE_DIGITS = 6
log = logging.getLogger("creditline.verifier")


def _mac(secret: bytes, challenge_id: str) -> bytes:
    return hmac.new(secret, challenge_id.encode(), hashlib.sha256).digest()


class LocalVerifier:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def token_for(self, challenge_id: str) -> str:
        digest = _mac(self._secret, challenge_id)
        return str(int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)

    def start(self, challenge: Challenge) -> None:
        log.info("challenge %s issued for account %s", challenge.id, challenge.account_id)

    def check(self, challenge: Challenge, token: str) -> bool:
        return hmac.compare_digest(self.token_for(challenge.id), token.strip())


class SignedTokenVerifier:
    """Accepts the token the platform's verification service signs for a passed challenge."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def token_for(self, challenge_id: str) -> str:
        """What the platform's service computes (documented in docs/RISK.md)."""
        return _mac(self._secret, challenge_id).hex()

    def start(self, challenge: Challenge) -> None:
        log.info("challenge %s issued for account %s", challenge.id, challenge.account_id)

    def check(self, challenge: Challenge, token: str) -> bool:
        return hmac.compare_digest(self.token_for(challenge.id), token.strip().lower())
