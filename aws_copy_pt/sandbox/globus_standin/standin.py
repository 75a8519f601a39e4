"""GlobusStandIn: the server plus the thread-safe control API tests and the demo drive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from .auth import AuthService, code_from_authorize_url, generate_signing_key
from .models import (
    LOGIN_SCOPES,
    STATUSES,
    TERMINAL,
    AuthCode,
    Collection,
    Fault,
    FileSpec,
    RequestRecord,
    Task,
    TaskInfo,
    User,
)
from .server import HTTPService, Router
from .state import Settings, State
from .transfer import TransferService

# The client id of the stand-in's "registered" native app; any other id works as well.
DEFAULT_CLIENT_ID = "6b0a1c5e-8f0e-4c9a-9d39-5a3b1f0c2e7d"

FileLike = FileSpec | tuple[str, str] | tuple[str, str, int]


class GlobusStandIn:
    """A local Globus Auth + Transfer service for the real globus-sdk to talk to.

    One loopback server answers both APIs: Auth paths at the root, Transfer under
    ``/v0.10/`` (the SDK puts that prefix in every Transfer path itself).
    """

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
    ) -> None:
        self._state = State(settings or Settings())
        self._router = Router()
        self._http = HTTPService(self._router)
        self.client_id = client_id
        self._auth = AuthService(self._state, self.auth_url, signing_key or generate_signing_key())
        self._router.routes = [*self._auth.routes(), *TransferService(self._state).routes()]

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> GlobusStandIn:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> GlobusStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def settings(self) -> Settings:
        """Live settings (page size, default script, hooks); changes apply at once."""
        return self._state.settings

    @property
    def auth_url(self) -> str:
        return self._http.base_url

    @property
    def transfer_url(self) -> str:
        # No "/v0.10/" here: TransferClient already prefixes every path with it.
        return self._http.base_url

    @property
    def issuer(self) -> str:
        """The ``iss`` claim of id_tokens (and the OIDC configuration's issuer)."""
        return self._auth.issuer

    def env(self) -> dict[str, str]:
        """Environment variables that point globus-sdk at this stand-in."""
        return {
            "GLOBUS_SDK_SERVICE_URL_AUTH": self.auth_url,
            "GLOBUS_SDK_SERVICE_URL_TRANSFER": self.transfer_url,
        }

    # -- identities and tokens ----------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        email: str | None = None,
        organization: str = "Stand-in University",
        user_id: str | None = None,
    ) -> User:
        user = User(
            id=user_id or str(uuid.uuid4()),
            username=username,
            name=name or username.partition("@")[0].title(),
            email=email or (username if "@" in username else f"{username}@example.org"),
            organization=organization,
        )
        with self._state.lock:
            self._state.users[user.id] = user
        return user

    def issue_tokens(
        self,
        user: User,
        *,
        scopes: Sequence[str] = LOGIN_SCOPES,
        client_id: str | None = None,
        access_lifetime: int | None = None,
        refresh: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """Tokens as if ``user`` had logged in, keyed by resource server.

        Each entry has the fields of the SDK's ``OAuthTokenResponse.by_resource_server``.
        """
        documents = self._state.grant(
            user.id,
            client_id or self.client_id,
            scopes,
            refresh=refresh,
            access_lifetime=access_lifetime,
        )
        issued_at = int(time.time())
        return {
            doc["resource_server"]: {
                **doc,
                "refresh_token": doc.get("refresh_token"),
                "expires_at_seconds": issued_at + int(doc["expires_in"]),
            }
            for doc in documents
        }

    def issue_auth_code(
        self,
        user: User,
        *,
        authorize_url: str | None = None,
        scopes: Sequence[str] = LOGIN_SCOPES,
        client_id: str | None = None,
        refresh: bool = True,
    ) -> str:
        """An authorization code, as Globus Auth redirects with after ``user`` consents.

        With ``authorize_url`` (from the SDK's ``oauth2_get_authorize_url()``) the code
        carries that URL's client, scopes, redirect_uri, access_type and PKCE challenge,
        and the exchange is checked against them like the real service does.
        """
        if authorize_url is not None:
            code = code_from_authorize_url(authorize_url, user, self.client_id)
        else:
            code = AuthCode(user.id, client_id or self.client_id, tuple(scopes), refresh)
        if not code.scopes:
            raise ValueError("an authorization code needs at least one scope")
        return self._state.new_code(code)

    def revoke_refresh_token(self, token: str) -> None:
        self._state.revoke(token)

    def revoke_all(self, user: User) -> None:
        self._state.revoke_all(user.id)

    def expire_access_tokens(self, user: User | None = None) -> None:
        """Make access tokens (of ``user``, or everyone's) expire now; refresh still works."""
        self._state.expire_access_tokens(user.id if user else None)

    # -- collections and tasks ----------------------------------------------------------

    def add_collection(
        self,
        display_name: str,
        *,
        owner: User,
        entity_type: str = "GCSv5_mapped_collection",
        collection_id: str | None = None,
        description: str | None = None,
        organization: str | None = None,
        keywords: Sequence[str] = (),
        public: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Register a collection; ``extra`` overrides fields of its endpoint document."""
        collection = Collection(
            id=collection_id or str(uuid.uuid4()),
            display_name=display_name,
            owner=owner,
            entity_type=entity_type,
            description=description,
            organization=organization,
            keywords=tuple(keywords),
            public=public,
            extra=dict(extra or {}),
        )
        with self._state.lock:
            self._state.collections[collection.id] = collection
        return collection.id

    def add_task(
        self,
        owner: User,
        source_endpoint: str,
        destination_endpoint: str,
        files: Iterable[FileLike],
        *,
        script: Sequence[str] | None = None,
        label: str | None = None,
        faults: Sequence[Fault] = (),
        fatal_error: tuple[str, str] | None = None,
        files_ok_on_failure: int = 0,
        request_time: datetime | None = None,
        task_id: str | None = None,
    ) -> str:
        """Create a task whose status follows ``script``, one entry per poll.

        Both endpoints must have been registered with ``add_collection``. A FAILED task
        still reports its first ``files_ok_on_failure`` files as successful transfers;
        ``fatal_error`` is its (code, description).
        """
        steps = list(script or self._state.settings.default_script)
        _check_script(steps)
        with self._state.lock:
            task = Task(
                task_id=task_id or str(uuid.uuid4()),
                owner=owner,
                source=self._state.collections[source_endpoint],
                destination=self._state.collections[destination_endpoint],
                files=tuple(FileSpec(*spec) for spec in files),
                script=steps,
                request_time=request_time or datetime.now(UTC),
                label=label,
                faults=tuple(faults),
                files_ok_on_failure=files_ok_on_failure,
            )
            if fatal_error is not None:
                task.fatal_error = fatal_error
            self._state.tasks[task.task_id] = task
            info = task.info()
        self._state.notify_succeeded([info])
        return info.task_id

    def task(self, task_id: str) -> TaskInfo:
        """A snapshot of a task; unlike a poll over HTTP it does not advance the script."""
        with self._state.lock:
            return self._state.tasks[task_id].info()

    # -- fault injection and observation ------------------------------------------------

    def inject(
        self,
        method: str | None,
        path_regex: str,
        *,
        status: int = 503,
        body: Mapping[str, Any] | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (method None: any).

        The default body is an error document in the style of the service at that path.
        """
        self._router.inject(
            method,
            path_regex,
            status=status,
            body=dict(body) if body is not None else None,
            headers=dict(headers or {}),
            times=times,
        )

    def delay(
        self, path_regex: str, seconds: float, *, method: str | None = None, times: int = 1
    ) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering."""
        self._router.delay(method, path_regex, seconds, times)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far, oldest first (a copy)."""
        return self._router.records()


def _check_script(steps: Sequence[str]) -> None:
    unknown = [step for step in steps if step not in STATUSES]
    if not steps or unknown:
        raise ValueError(f"a script is a non-empty list of {sorted(STATUSES)}, got {steps}")
    if any(step in TERMINAL for step in steps[:-1]):
        raise ValueError(f"only the last step of a script may be SUCCEEDED/FAILED: {steps}")
