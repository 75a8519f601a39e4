"""The stand-in's shared, lock-protected state: identities, tokens, collections, tasks."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import (
    AUTH_RESOURCE_SERVER,
    SUCCEEDED,
    AccessToken,
    AuthCode,
    Collection,
    FileSpec,
    Grant,
    SubmittedItem,
    Task,
    TaskInfo,
    User,
)

SucceededHook = Callable[[TaskInfo], None]
FilesHook = Callable[[SubmittedItem], Sequence[FileSpec]]

# Globus Auth hands out access tokens valid for 48 hours.
DEFAULT_ACCESS_LIFETIME = 172800


def files_as_submitted(item: SubmittedItem) -> Sequence[FileSpec]:
    """Default files hook: the stand-in cannot list a directory, so it moves no files."""
    if item.recursive:
        return ()
    return (FileSpec(item.source_path, item.destination_path, 0),)


@dataclass
class Settings:
    access_lifetime: int = DEFAULT_ACCESS_LIFETIME
    successful_transfers_page_size: int = 1000
    default_script: tuple[str, ...] = ("ACTIVE", "ACTIVE", "SUCCEEDED")
    on_succeeded: SucceededHook | None = None
    files_for_item: FilesHook = files_as_submitted


@dataclass
class State:
    settings: Settings = field(default_factory=Settings)
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, User] = field(default_factory=dict)
    collections: dict[str, Collection] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_grants: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    # (owner id, submission id) -> task id, so a resubmission is recognised.
    submissions: dict[tuple[str, str], str] = field(default_factory=dict)

    def notify_succeeded(self, infos: Iterable[TaskInfo]) -> None:
        """Run the on_succeeded hook; callers must not hold the lock (the hook may be slow)."""
        hook = self.settings.on_succeeded
        for info in infos:
            if hook is not None and info.status == SUCCEEDED:
                hook(info)

    # -- tokens ---------------------------------------------------------------------

    def grant(
        self,
        user_id: str,
        client_id: str,
        scopes: Sequence[str],
        *,
        refresh: bool,
        access_lifetime: int | None = None,
    ) -> list[dict[str, Any]]:
        """Mint one token document per resource server, as the token endpoint lists them."""
        documents = []
        with self.lock:
            for resource_server, rs_scopes in group_by_resource_server(scopes).items():
                grant = Grant(user_id, client_id, resource_server, rs_scopes)
                refresh_token = _new_token() if refresh else None
                if refresh_token is not None:
                    self.refresh_grants[refresh_token] = grant
                documents.append(self._mint_access(grant, refresh_token, access_lifetime))
        return documents

    def refresh(self, refresh_token: str, client_id: str) -> dict[str, Any] | None:
        with self.lock:
            grant = self.refresh_grants.get(refresh_token)
            if grant is None or grant.revoked or grant.client_id != client_id:
                return None
            return self._mint_access(grant, refresh_token, None)

    def _mint_access(
        self, grant: Grant, refresh_token: str | None, lifetime: int | None
    ) -> dict[str, Any]:
        lifetime = self.settings.access_lifetime if lifetime is None else lifetime
        token = _new_token()
        self.access_tokens[token] = AccessToken(
            user_id=grant.user_id,
            client_id=grant.client_id,
            resource_server=grant.resource_server,
            scopes=grant.scopes,
            expires_at=time.time() + lifetime,
            refresh_token=refresh_token,
        )
        document: dict[str, Any] = {
            "access_token": token,
            "expires_in": lifetime,
            "resource_server": grant.resource_server,
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
            "state": "_default",
        }
        if refresh_token is not None:
            document["refresh_token"] = refresh_token
        return document

    def authenticate(self, token: str | None, resource_server: str) -> AccessToken | None:
        """The live access token record for ``token``, if it is valid for the server."""
        with self.lock:
            record = self.access_tokens.get(token or "")
            if record is None or record.revoked or record.resource_server != resource_server:
                return None
            return record if record.expires_at > time.time() else None

    def revoke(self, token: str) -> None:
        with self.lock:
            if token in self.access_tokens:
                self.access_tokens[token].revoked = True
            if token in self.refresh_grants:
                # Revoking a refresh token ends its grant, so its access tokens go too.
                self.refresh_grants[token].revoked = True
                for record in self.access_tokens.values():
                    if record.refresh_token == token:
                        record.revoked = True

    def revoke_all(self, user_id: str) -> None:
        with self.lock:
            for grant in self.refresh_grants.values():
                grant.revoked = grant.revoked or grant.user_id == user_id
            for record in self.access_tokens.values():
                record.revoked = record.revoked or record.user_id == user_id

    def expire_access_tokens(self, user_id: str | None) -> None:
        with self.lock:
            for record in self.access_tokens.values():
                if user_id is None or record.user_id == user_id:
                    record.expires_at = min(record.expires_at, time.time() - 1)

    def new_code(self, code: AuthCode) -> str:
        value = _new_token()
        with self.lock:
            self.codes[value] = code
        return value

    def take_code(self, value: str) -> AuthCode | None:
        """Authorization codes are single-use: taking one removes it."""
        with self.lock:
            return self.codes.pop(value, None)


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def split_scopes(scope_string: str) -> list[str]:
    """Split a space-separated scope string, keeping bracketed dependent scopes attached."""
    scopes, current, depth = [], "", 0
    for char in scope_string:
        depth += (char == "[") - (char == "]")
        if char.isspace() and depth == 0:
            scopes.append(current)
            current = ""
        else:
            current += char
    scopes.append(current)
    return [scope for scope in scopes if scope]


def root_scope(scope: str) -> str:
    # Dependent scopes ("...:all[*https://.../data_access]") never appear in a token's scope.
    return scope.partition("[")[0].lstrip("*")


def resource_server_of(scope: str) -> str:
    if scope.startswith("urn:globus:auth:scope:"):
        return scope.split(":")[4]
    if scope.startswith("https://auth.globus.org/scopes/"):
        return scope.split("/")[4]
    # openid, profile, email and other bare OIDC scopes belong to Globus Auth itself.
    return AUTH_RESOURCE_SERVER


def group_by_resource_server(scopes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for scope in scopes:
        root = root_scope(scope)
        grouped.setdefault(resource_server_of(root), []).append(root)
    return {rs: tuple(dict.fromkeys(values)) for rs, values in grouped.items()}
