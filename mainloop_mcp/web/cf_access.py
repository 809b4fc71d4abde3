"""Cloudflare Access: validate the `Cf-Access-Jwt-Assertion` header Cloudflare adds to proxied requests.

Behind Cloudflare Access (cloudflared tunnel + an Access application), the user has already
logged in at the edge; the origin must still check the signed assertion so a request that
reaches the hub directly cannot claim to be authenticated. Keys come from the team's JWKS
(`<team>/cdn-cgi/access/certs`) and are cached; the audience is the application's AUD tag.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import jwt

ASSERTION_HEADER = b"cf-access-jwt-assertion"
JWKS_PATH = "/cdn-cgi/access/certs"
KEY_CACHE_SECONDS = 300


class AccessDenied(Exception):
    """The assertion is missing, malformed, expired, for another audience or not signed by the team's key."""


class CloudflareAccess:
    def __init__(self, team_url: str, audience: str) -> None:
        self.issuer = team_url
        self.audience = audience
        self._jwks = jwt.PyJWKClient(f"{team_url}{JWKS_PATH}", cache_keys=True, lifespan=KEY_CACHE_SECONDS, timeout=5)

    async def verify(self, assertion: str) -> dict[str, Any]:
        """The assertion's claims, or AccessDenied. Fetching keys blocks, so it runs in a worker thread."""
        return await anyio.to_thread.run_sync(self._verify, assertion)

    def _verify(self, assertion: str) -> dict[str, Any]:
        try:
            key = self._jwks.get_signing_key_from_jwt(assertion)
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AccessDenied(str(exc) or type(exc).__name__) from exc
        return claims
