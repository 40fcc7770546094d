"""The local step-up verifier, for development, demos and tests.

The code of a challenge is six digits derived from a secret and the challenge id
(HMAC-SHA256), so nothing needs to be stored or sent: `creditline risk challenge-code ID`
prints it, as an SMS gateway would deliver it. Production plugs its own `Verifier`
(SMS, face check, the platform's app) in `bootstrap`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from creditline.domain.risk.challenge import Challenge

CODE_DIGITS = 6
log = logging.getLogger("creditline.verifier")


class LocalVerifier:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def code_for(self, challenge_id: str) -> str:
        digest = hmac.new(self._secret, challenge_id.encode(), hashlib.sha256).digest()
        return str(int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)

    def start(self, challenge: Challenge) -> None:
        log.info("challenge %s issued for account %s", challenge.id, challenge.account_id)

    def check(self, challenge: Challenge, token: str) -> bool:
        return hmac.compare_digest(self.code_for(challenge.id), token.strip())
