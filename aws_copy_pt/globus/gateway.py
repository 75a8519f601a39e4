"""Every call aws-copy-pt makes to Globus Transfer, Timers and Auth, and what its failures mean.

Services hold a :data:`TransferClient` or :data:`TimersClient` (built by ``globus.clients``)
or a :data:`UserApp` as an opaque handle and pass it to the functions here; they never touch
the SDK themselves. Each function answers plain data (Globus's documents as dicts) or raises
one of our errors:

* ``NeedsLoginError`` (or ``ConsentRequiredError``, or ``TimersLoginError`` from Timers) when
  only ``aws-copy-pt login`` helps;
* ``GlobusCallError`` (a ``RemoteError``) otherwise. Its message is ready for the user and names
  what was being done; ``failure`` (``globus.errors.Failure``) tells transient failures from
  refusals for callers that decide on it (the poller, the lister); ``description`` is Globus's
  answer in one secret-free line; ``http_status`` is the status Globus answered, if any.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import globus_sdk
from globus_sdk.gare import GlobusAuthorizationParameters
from globus_sdk.login_flows import LocalServerLoginError
from globus_sdk.token_storage.validating_token_storage import IdentityMismatchError

from aws_copy_pt.errors import ConfigError, NeedsLoginError
from aws_copy_pt.globus import clients
from aws_copy_pt.globus.errors import Failure, call_error, classify, describe

TransferClient = globus_sdk.TransferClient
TimersClient = globus_sdk.TimersClient
UserApp = globus_sdk.UserApp
SyncLevel = Literal["exists", "size", "mtime", "checksum"]

MAX_ERROR_EVENTS = 10
TASK_LIST_MAX = 1000  # the most task_list answers (offset + limit), whatever the filter


@dataclass(frozen=True)
class MarkerPage:
    """One page of a finished task's file list: its successful transfers (each with
    source_path and destination_path), or the files it skipped (also error_code, is_directory,
    error_details)."""

    entries: list[dict[str, Any]]
    next_marker: str | None  # None: this was the last page


@dataclass(frozen=True)
class TimerRun:
    """One run of a Globus Timer: the Transfer task it submitted (None if none was made)."""

    task_id: str | None
    ran_at: datetime | None
    details: dict[str, Any]  # the run's task document as Timers reports it (may be partial)


@dataclass(frozen=True)
class TimerRunsPage:
    name: str | None
    runs: list[TimerRun]  # newest first
    next_page: str | None  # pass as ``page`` for older runs; None: no more


@contextmanager
def _calling(doing: str) -> Iterator[None]:
    """Translate any failure of the Globus call made inside into our errors (see above)."""
    try:
        yield
    except (globus_sdk.GlobusError, NeedsLoginError) as exc:
        raise call_error(exc, doing=doing) from None


# --- Transfer: tasks ------------------------------------------------------------------------


def tasks_by_id(client: TransferClient, task_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The task documents of ``task_ids`` that Globus lists for this identity (one call)."""
    with _calling(f"looking up {len(task_ids)} task(s)"):
        response = client.task_list(filter={"task_id": list(task_ids)}, limit=len(task_ids))
        return [dict(document) for document in response["DATA"]]


def recent_transfer_tasks(
    client: TransferClient, *, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """The identity's TRANSFER tasks, newest first: ``limit`` of them from ``offset`` on."""
    with _calling("listing your recent tasks"):
        response = client.task_list(
            limit=limit, offset=offset, orderby="request_time DESC", filter={"type": "TRANSFER"}
        )
        return [dict(document) for document in response["DATA"]]


def tasks_requested_since(
    client: TransferClient, start: str, *, limit: int = TASK_LIST_MAX
) -> list[dict[str, Any]]:
    """TRANSFER tasks requested at or after ``start`` (task_list's time format, UTC), oldest
    first: at most ``limit`` of them (one call; Globus answers 1,000 at most)."""
    with _calling("listing the tasks requested since " + start):
        response = client.task_list(
            limit=limit,
            orderby="request_time ASC",
            filter={"type": "TRANSFER", "request_time": [start, ""]},
        )
        return [dict(document) for document in response["DATA"]]


def get_task(client: TransferClient, task_id: str) -> dict[str, Any]:
    """One task's document."""
    with _calling(f"looking up task {task_id}"):
        return dict(client.get_task(task_id).data or {})


def error_events(client: TransferClient, task_id: str, count: int) -> list[dict[str, Any]]:
    """The task's ``count`` newest error events (at least 1, at most :data:`MAX_ERROR_EVENTS`)."""
    limit = min(max(count, 1), MAX_ERROR_EVENTS)
    with _calling(f"reading the error events of task {task_id}"):
        response = client.task_event_list(
            task_id, limit=limit, query_params={"filter": "is_error:1"}
        )
        return [dict(event) for event in response["DATA"]]


def successful_transfers(
    client: TransferClient, task_id: str, *, marker: str | None = None
) -> MarkerPage:
    """One page of what a finished task delivered, from ``marker`` (None: the first page)."""
    with _calling(f"listing the files task {task_id} delivered"):
        return _marker_page(client.task_successful_transfers(task_id, marker=_marker(marker)))


def skipped_errors(
    client: TransferClient, task_id: str, *, marker: str | None = None
) -> MarkerPage:
    """One page of the files a finished task skipped under ``skip_source_errors``."""
    with _calling(f"listing the files task {task_id} skipped"):
        return _marker_page(client.task_skipped_errors(task_id, marker=_marker(marker)))


def _marker(marker: str | None) -> Any:
    return globus_sdk.MISSING if marker is None else marker


def _marker_page(page: Any) -> MarkerPage:
    following = page.get("next_marker")
    return MarkerPage(
        [dict(entry) for entry in page["DATA"]], None if following is None else str(following)
    )


def submit_transfer(
    client: TransferClient,
    *,
    source: tuple[str, str],
    destination: tuple[str, str],
    label: str,
    recursive: bool,
    sync_level: SyncLevel | None = None,
    verify_checksum: bool = True,
) -> str:
    """Submit one transfer item, (collection id, path) to (collection id, path); its task id."""
    data = globus_sdk.TransferData(
        source_endpoint=source[0],
        destination_endpoint=destination[0],
        label=label,
        sync_level=sync_level or globus_sdk.MISSING,
        verify_checksum=verify_checksum,
    )
    data.add_item(source[1], destination[1], recursive=recursive)
    with _calling("submitting the transfer"):
        return str(client.submit_transfer(data)["task_id"])


def cancel_task(client: TransferClient, task_id: str) -> None:
    with _calling(f"cancelling task {task_id}"):
        client.cancel_task(task_id)


# --- Transfer: collections ------------------------------------------------------------------


def get_collection(client: TransferClient, collection_id: str) -> dict[str, Any]:
    """A collection's (or endpoint's) document, from Transfer's ``get_endpoint``."""
    with _calling(f"looking up collection {collection_id}"):
        return dict(client.get_endpoint(collection_id).data or {})


def search_collections(client: TransferClient, scope: str, *, limit: int) -> list[dict[str, Any]]:
    """Endpoints and collections in a search scope (``recently-used``, ``my-endpoints``)."""
    with _calling("listing your recent collections"):
        response = client.endpoint_search(filter_scope=scope, limit=limit)
        return [dict(item) for item in response["DATA"]]


# --- Timers --------------------------------------------------------------------------------


def timer_runs(client: TimersClient, timer_id: str, *, page: str | None = None) -> TimerRunsPage:
    """A page of a Globus Timer's runs, newest first (``page`` from the previous page)."""
    params = {} if page is None else {"results_pt": page}
    with _calling(f"reading the runs of Globus timer {timer_id}"):
        job = client.get_job(timer_id, query_params=params)
        results = job.get("results") or {}
        return TimerRunsPage(
            name=job.get("name"),
            runs=[_timer_run(result) for result in results.get("data") or []],
            next_page=results.get("page_next") or None,
        )


def _timer_run(result: dict[str, Any]) -> TimerRun:
    """A run's task id is its ``resource_id``; older runs carry it only in ``data.details``."""
    data = result.get("data") or {}
    details = data.get("details") if isinstance(data, dict) else None
    details = dict(details) if isinstance(details, dict) else {}
    task_id = result.get("resource_id") or details.get("task_id")
    return TimerRun(
        task_id=str(task_id) if task_id else None,
        ran_at=parse_time(result.get("ran_at") or result.get("start_timestamp")),
        details=details,
    )


def parse_time(value: Any) -> datetime | None:
    """A Globus time (ISO 8601, "Z" or an offset; UTC when none), or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Auth -----------------------------------------------------------------------------------


def log_in(app: UserApp, required_scopes: Sequence[str]) -> None:
    """Run ``app``'s interactive login for ``required_scopes`` (always a fresh one)."""
    params = GlobusAuthorizationParameters(required_scopes=list(required_scopes))
    try:
        app.login(auth_params=params, force=True)
    except IdentityMismatchError:
        raise ConfigError(
            "you logged in as a different Globus identity than the one whose tokens are stored",
            hint="run `aws-copy-pt logout` first to switch identities",
        ) from None
    except LocalServerLoginError as exc:
        raise NeedsLoginError(
            f"the browser login did not complete: {exc}",
            hint="run `aws-copy-pt login --no-browser` to use the copy-paste login",
        ) from None
    except globus_sdk.AuthAPIError as exc:
        if classify(exc) is Failure.TRANSIENT:  # Globus Auth busy or down: not the code's fault
            raise call_error(exc, doing="logging in") from None
        raise NeedsLoginError(
            f"Globus did not accept the authorization code: {describe(exc)}",
            hint="run `aws-copy-pt login` again and paste the whole code, promptly",
        ) from None
    except globus_sdk.GlobusError as exc:  # offline, or Globus Auth down
        raise call_error(exc, doing="logging in") from None


def userinfo(app: UserApp, *, doing: str) -> dict[str, Any]:
    """Who the app's tokens belong to (OpenID Connect userinfo), asked while ``doing``."""
    with _calling(doing):
        return dict(clients.auth_client(app).userinfo().data or {})


def revoke_tokens(client_id: str, tokens: Sequence[str | None]) -> int:
    """Revoke ``tokens`` (empty ones skipped) at Globus Auth; how many were revoked. The first
    failure raises, the tokens after it not tried."""
    login_client = clients.login_client(client_id)
    count = 0
    for token in tokens:
        if not token:
            continue
        with _calling("revoking the stored tokens"):
            login_client.oauth2_revoke_token(token)
        count += 1
    return count
