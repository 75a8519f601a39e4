"""Globus Auth half of the stand-in: OAuth2 token endpoints, OIDC discovery, identities."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .models import AUTH_RESOURCE_SERVER, AuthCode, User
from .payloads import identity_document, user_claims
from .server import Handler, Route
from .state import State, split_scopes
from .wire import JSON, ApiError, Request, Response

# Globus Auth signs id_tokens with RS512 and advertises it in its OIDC configuration;
# globus_sdk.IDTokenDecoder accepts whatever algorithms the configuration lists.
SIGNING_ALGORITHM = "RS512"
KEY_ID = "standin-key"
ID_TOKEN_LIFETIME = 172800


def generate_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: unpadded base64url of the verifier's SHA-256 digest."""
    digest = hashlib.sha256(verifier.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def code_from_authorize_url(url: str, user: User, default_client_id: str) -> AuthCode:
    """What Globus Auth would remember after ``user`` consents at this /authorize URL."""
    query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
    if query.get("code_challenge") and query.get("code_challenge_method", "S256") != "S256":
        raise ValueError("the stand-in only supports the S256 PKCE method, as the SDK uses")
    return AuthCode(
        user_id=user.id,
        client_id=query.get("client_id", default_client_id),
        scopes=tuple(split_scopes(query.get("scope", ""))),
        refresh=query.get("access_type") == "offline",
        redirect_uri=query.get("redirect_uri"),
        code_challenge=query.get("code_challenge"),
    )


class AuthService:
    def __init__(self, state: State, base_url: str, signing_key: rsa.RSAPrivateKey) -> None:
        self._state = state
        self._base = base_url.rstrip("/")
        self._key = signing_key

    @property
    def issuer(self) -> str:
        return self._base

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/\.well-known/openid-configuration", self.openid_configuration),
            ("GET", r"/jwk\.json", self.jwk_set),
            ("POST", r"/v2/oauth2/token", self.token),
            ("POST", r"/v2/oauth2/token/revoke", self.revoke),
            ("GET|POST", r"/v2/oauth2/userinfo", self.userinfo),
            ("GET", r"/v2/api/identities", self.identities),
        ]
        return [Route(verb, path, fn, f"auth.{fn.__name__}") for verb, path, fn in table]

    # -- OIDC discovery ---------------------------------------------------------------

    def openid_configuration(self, request: Request, *_: str) -> Response:
        return Response(
            200,
            {
                "issuer": self._base,
                "authorization_endpoint": f"{self._base}/v2/oauth2/authorize",
                "token_endpoint": f"{self._base}/v2/oauth2/token",
                "revocation_endpoint": f"{self._base}/v2/oauth2/token/revoke",
                "userinfo_endpoint": f"{self._base}/v2/oauth2/userinfo",
                "jwks_uri": f"{self._base}/jwk.json",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
                "code_challenge_methods_supported": ["S256"],
            },
        )

    def jwk_set(self, request: Request, *_: str) -> Response:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        # Globus publishes plain RSA JWKs: no key_ops (which PyJWT adds), but alg/use/kid.
        jwk.pop("key_ops", None)
        jwk.update({"alg": SIGNING_ALGORITHM, "use": "sig", "kid": KEY_ID})
        return Response(200, {"keys": [jwk]})

    def id_token(self, user: User, client_id: str) -> str:
        now = int(time.time())
        claims = {
            **user_claims(user),
            "iss": self._base,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "last_authentication": now,
        }
        return jwt.encode(claims, self._key, algorithm=SIGNING_ALGORITHM, headers={"kid": KEY_ID})

    # -- OAuth2 token endpoints -------------------------------------------------------

    def token(self, request: Request, *_: str) -> Response:
        form = request.form()
        client_id = _client_id(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            document = self._state.refresh(form.get("refresh_token", ""), client_id)
            if document is None:
                raise ApiError.oauth(400, "invalid_grant", "Invalid refresh token")
            return Response(200, {**document, "other_tokens": []})
        if grant_type == "authorization_code":
            return Response(200, self._exchange_code(form, client_id))
        raise ApiError.oauth(400, "unsupported_grant_type", f"Unsupported grant: {grant_type}")

    def _exchange_code(self, form: dict[str, str], client_id: str) -> JSON:
        code = self._state.take_code(form.get("code", ""))
        if code is None or code.client_id != client_id:
            raise ApiError.oauth(400, "invalid_grant", "Invalid authorization code")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            raise ApiError.oauth(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if code.code_challenge is not None and pkce_challenge(verifier) != code.code_challenge:
            raise ApiError.oauth(400, "invalid_grant", "Invalid code_verifier")
        documents = self._state.grant(code.user_id, client_id, code.scopes, refresh=code.refresh)
        user = self._state.users[code.user_id]
        return self._token_response(documents, user, client_id, "openid" in code.scopes)

    def _token_response(
        self, documents: Sequence[JSON], user: User, client_id: str, openid: bool
    ) -> JSON:
        """The token endpoint's answer for a fresh login: one grant per resource server."""
        # The Globus Auth grant leads; every other resource server goes in other_tokens.
        ordered = sorted(documents, key=lambda d: d["resource_server"] != AUTH_RESOURCE_SERVER)
        response = {**ordered[0], "other_tokens": list(ordered[1:])}
        if openid:
            response["id_token"] = self.id_token(user, client_id)
        return response

    def revoke(self, request: Request, *_: str) -> Response:
        form = request.form()
        _client_id(request, form)
        # RFC 7009: revoking an unknown or already revoked token still succeeds.
        self._state.revoke(form.get("token", ""))
        return Response(200, {"active": False})

    # -- resource APIs ----------------------------------------------------------------

    def userinfo(self, request: Request, *_: str) -> Response:
        record = self._state.authenticate(request.bearer_token(), AUTH_RESOURCE_SERVER)
        if record is None or "openid" not in record.scopes:
            raise _unauthorized()
        user = self._state.users[record.user_id]
        return Response(200, user_claims(user))

    def identities(self, request: Request, *_: str) -> Response:
        if self._state.authenticate(request.bearer_token(), AUTH_RESOURCE_SERVER) is None:
            raise _unauthorized()
        ids = _comma_list(request.query.get("ids"))
        usernames = {name.lower() for name in _comma_list(request.query.get("usernames"))}
        if ids and usernames:
            raise ApiError.auth_api(
                400,
                "INVALID_PARAMETERS",
                "Invalid Parameters",
                "ids and usernames are mutually exclusive",
            )
        with self._state.lock:
            users = list(self._state.users.values())
        found = [u for u in users if u.id in ids or u.username.lower() in usernames]
        return Response(200, {"identities": [identity_document(user) for user in found]})


def _client_id(request: Request, form: dict[str, str]) -> str:
    # Native apps authenticate with a client_id form field; confidential apps with Basic.
    client_id = form.get("client_id") or request.basic_client_id()
    if not client_id:
        raise ApiError.oauth(401, "invalid_client", "Client authentication required")
    return client_id


def _unauthorized() -> ApiError:
    return ApiError.auth_api(401, "UNAUTHORIZED", "Unauthorized", "Call must be authenticated")


def _comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
