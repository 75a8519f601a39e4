"""HTTP-level value types shared by the Auth and Transfer halves of the stand-in."""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

JSON = dict[str, Any]

# Globus request ids are short alphanumeric strings such as "7HgMVYazI".
_REQUEST_ID_ALPHABET = string.ascii_letters + string.digits


def new_request_id() -> str:
    return "".join(secrets.choice(_REQUEST_ID_ALPHABET) for _ in range(9))


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request, as the route handlers see it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as an urlencoded form (OAuth token endpoints use this encoding)."""
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def json(self) -> JSON:
        try:
            document = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise ApiError.transfer(
                400, "BadRequest", f"Could not parse JSON: {exc}", self
            ) from exc
        if not isinstance(document, dict):
            raise ApiError.transfer(400, "BadRequest", "Expected a JSON object", self)
        return document

    def bearer_token(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def basic_client_id(self) -> str | None:
        """The client id of HTTP Basic client authentication (confidential clients)."""
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None


@dataclass(frozen=True)
class Response:
    status: int
    body: JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")


class ApiError(Exception):
    """Raised by handlers to answer with an error document; carries the full response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status, response.body)
        self.response = response

    @classmethod
    def transfer(cls, status: int, code: str, message: str, request: Request) -> ApiError:
        # Transfer's "type zero" error document, parsed by globus_sdk.TransferAPIError.
        body = {
            "code": code,
            "message": message,
            "request_id": new_request_id(),
            "resource": request.path,
        }
        return cls(Response(status, body))

    @classmethod
    def oauth(cls, status: int, error: str, description: str) -> ApiError:
        # RFC 6749 section 5.2 error document, as Globus Auth's token endpoint answers.
        return cls(Response(status, {"error": error, "error_description": description}))

    @classmethod
    def auth_api(cls, status: int, code: str, title: str, detail: str) -> ApiError:
        # Globus Auth's resource API errors: a JSON:API-like "errors" array plus OAuth fields.
        error_id = new_request_id()
        body = {
            "errors": [
                {
                    "status": str(status),
                    "id": error_id,
                    "code": code,
                    "title": title,
                    "detail": detail,
                }
            ],
            "error": code.lower(),
            "error_description": title,
        }
        return cls(Response(status, body))

    @classmethod
    def timers(cls, status: int, code: str, detail: str) -> ApiError:
        # Globus Timers' error document (globus_sdk.TimersAPIError reads error.code/detail).
        return cls(Response(status, {"error": {"code": code, "detail": detail, "status": status}}))

    @classmethod
    def timers_invalid(cls, where: str, name: str, message: str, kind: str) -> ApiError:
        # Timers validates parameters with FastAPI: a 422 with a "detail" list.
        detail = [{"loc": [where, name], "msg": message, "type": kind}]
        return cls(Response(422, {"detail": detail}))
