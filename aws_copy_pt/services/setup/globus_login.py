"""Logging in to Globus, out again, and checking who is logged in.

A login asks for ``openid profile email`` plus Transfer, with refresh tokens so unattended runs
keep working for months, and with an optional data_access consent for every registered staging
collection that is a GCSv5 mapped collection (and any other collection the user names). Globus
Timers is asked for too, but only while some follow rule reads a timer. The
identity seen at login is cached in the settings table for ``whoami`` and ``status``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Collection, Setting, Transfer
from aws_copy_pt.errors import ConfigError, RemoteError
from aws_copy_pt.globus import clients, gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError
from aws_copy_pt.globus.gateway import UserApp
from aws_copy_pt.globus.login import LoginPrompter
from aws_copy_pt.services.watch.follow_rules import timer_rules_exist

IDENTITY_SETTING = "globus.identity"
LOGIN_SCOPES = ("openid", "profile", "email")


@dataclass(frozen=True)
class Identity:
    id: str
    username: str | None = None
    name: str | None = None
    email: str | None = None
    organization: str | None = None


@dataclass(frozen=True)
class LoginStatus:
    """What ``login`` and ``whoami`` report."""

    client_id: str | None  # None: no client id configured, so certainly not logged in
    logged_in: bool
    identity: Identity | None = None
    verified: bool = False  # a live call to Globus Auth succeeded with the stored tokens
    access_token_expires_at: datetime | None = None
    has_refresh_token: bool = False
    data_access_collections: list[str] = field(default_factory=list)
    transfers_waiting_for_login: int = 0
    timers_allowed: bool = False  # the login carries a Globus Timers token


@dataclass(frozen=True)
class LogoutReport:
    client_id: str | None
    revoked: int  # tokens revoked at Globus Auth
    removed: int  # resource servers whose tokens were deleted locally
    identity: Identity | None


def consent_collection_ids(db: Database, extra: Iterable[str] = ()) -> list[str]:
    """Registered collections that need a data_access consent, plus ``extra`` ones."""
    with db.session() as session:
        registered = session.scalars(
            select(Collection.collection_id).where(Collection.needs_data_access_consent)
        ).all()
    return sorted(set(registered) | set(extra))


def login(
    db: Database,
    prompter: LoginPrompter,
    *,
    client_id: str | None = None,
    env: Mapping[str, str] | None = None,
    allow_browser: bool = True,
    data_access: Iterable[str] = (),
) -> LoginStatus:
    """Run the interactive login, store the tokens and the client id, and return who it is."""
    cid = clients.resolve_client_id(db, explicit=client_id, env=env)
    consents = consent_collection_ids(db, data_access)
    app = clients.login_app(db, cid, prompter, allow_browser=allow_browser, env=env)
    clients.transfer_client(app)  # registers the Transfer scope requirement on the app
    scopes = [*LOGIN_SCOPES, *clients.data_access_scopes(consents)]
    if timer_rules_exist(db):
        clients.timers_client(app)  # and the Timers one, for follow rules with a timer
        scopes += clients.timers_scopes()
    gateway.log_in(app, scopes)
    identity = _fetch_identity(app, doing="reading who logged in")
    clients.remember_client_id(db, cid)
    _store_identity(db, identity)
    return _status(db, cid, identity, verified=True, consents=consents)


def whoami(
    db: Database,
    *,
    client_id: str | None = None,
    env: Mapping[str, str] | None = None,
    verify: bool = True,
) -> LoginStatus:
    """Who is logged in; with ``verify``, prove the stored tokens still work (never prompts)."""
    try:
        cid = clients.resolve_client_id(db, explicit=client_id, env=env)
    except ConfigError:
        return LoginStatus(client_id=None, logged_in=False)
    if not clients.token_storage(db, cid).get_token_data_by_resource_server():
        return _status(db, cid, None, verified=False, logged_in=False)
    identity = _load_identity(db)
    if verify:
        identity = _fetch_identity(clients.batch_app(db, cid), doing="checking the stored login")
        _store_identity(db, identity)
    return _status(db, cid, identity, verified=verify)


def logout(
    db: Database,
    *,
    client_id: str | None = None,
    env: Mapping[str, str] | None = None,
    revoke: bool = True,
) -> LogoutReport:
    """Revoke the stored tokens at Globus Auth, then delete them (and the cached identity)."""
    try:
        cid = clients.resolve_client_id(db, explicit=client_id, env=env)
    except ConfigError:
        return LogoutReport(None, 0, 0, _load_identity(db))
    storage = clients.token_storage(db, cid)
    stored = storage.get_token_data_by_resource_server()
    revoked = removed = 0
    for resource_server, data in stored.items():
        if revoke:
            revoked += _revoke(cid, [data.access_token, data.refresh_token])
        storage.remove_token_data(resource_server)
        removed += 1
    identity = _load_identity(db)
    with db.session() as session:
        row = session.get(Setting, IDENTITY_SETTING)
        if row is not None:
            session.delete(row)
    return LogoutReport(cid, revoked, removed, identity)


def _revoke(client_id: str, tokens: list[str | None]) -> int:
    try:
        return gateway.revoke_tokens(client_id, tokens)
    except GlobusCallError as exc:
        if exc.failure is Failure.TRANSIENT:
            raise RemoteError(
                f"could not revoke the Globus tokens ({exc.description}); "
                "tokens not yet revoked are still stored",
                hint="retry `aws-copy-pt logout`, or `aws-copy-pt logout --local-only` "
                "to delete them without revoking",
            ) from None
        raise


def _fetch_identity(app: UserApp, *, doing: str) -> Identity:
    info = gateway.userinfo(app, doing=doing)
    return Identity(
        id=str(info["sub"]),
        username=info.get("preferred_username"),
        name=info.get("name"),
        email=info.get("email"),
        organization=info.get("organization"),
    )


def _store_identity(db: Database, identity: Identity) -> None:
    value = json.dumps(identity.__dict__)
    with db.session() as session:
        row = session.get(Setting, IDENTITY_SETTING)
        if row is None:
            session.add(Setting(key=IDENTITY_SETTING, value=value))
        else:
            row.value = value


def _load_identity(db: Database) -> Identity | None:
    with db.session() as session:
        row = session.get(Setting, IDENTITY_SETTING)
        return None if row is None else Identity(**json.loads(row.value))


def _status(
    db: Database,
    client_id: str,
    identity: Identity | None,
    *,
    verified: bool,
    logged_in: bool = True,
    consents: list[str] | None = None,
) -> LoginStatus:
    stored = clients.token_storage(db, client_id).get_token_data_by_resource_server()
    transfer = stored.get(clients.TRANSFER_RESOURCE_SERVER)
    with db.session() as session:
        waiting = session.scalar(
            select(func.count(Transfer.id)).where(Transfer.state == TransferState.NEEDS_LOGIN)
        )
    return LoginStatus(
        client_id=client_id,
        logged_in=logged_in,
        identity=identity,
        verified=verified,
        access_token_expires_at=(
            datetime.fromtimestamp(transfer.expires_at_seconds, UTC) if transfer else None
        ),
        has_refresh_token=bool(transfer and transfer.refresh_token),
        data_access_collections=(consents if consents is not None else consent_collection_ids(db)),
        transfers_waiting_for_login=int(waiting or 0),
        timers_allowed=clients.TIMERS_RESOURCE_SERVER in stored,
    )
