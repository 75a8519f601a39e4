"""The Globus adapter's pure parts: token storage rows, failure classification, login choice."""

from __future__ import annotations

import json
from pathlib import Path

import globus_sdk
import pytest
import requests
from globus_sdk.token_storage import TokenStorageData
from globus_sdk.token_storage.validating_token_storage import MissingTokenError

from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.errors import ConfigError, ConsentRequiredError, NeedsLoginError
from aws_copy_pt.globus import clients
from aws_copy_pt.globus.errors import (
    Failure,
    classify,
    consent_collections,
    describe,
    login_error,
)
from aws_copy_pt.globus.login import CopyPasteLoginFlow, browser_unusable_reason
from aws_copy_pt.globus.token_storage import DatabaseTokenStorage
from aws_copy_pt.home.paths import Home
from aws_copy_pt.log import redact

CLIENT = "6b0a1c5e-8f0e-4c9a-9d39-5a3b1f0c2e7d"
COLLECTION = "1a2b3c4d-0000-4000-8000-000000000000"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(Home(tmp_path / "home"))


def _data(rs: str, access: str, refresh: str | None = "refresh-token-value") -> TokenStorageData:
    return TokenStorageData(
        rs, "identity-1", "scope-a scope-b", access, refresh, 1_900_000_000, "Bearer"
    )


# -- token storage --------------------------------------------------------------------------


def test_tokens_round_trip_through_the_database(db: Database) -> None:
    storage = DatabaseTokenStorage(db, CLIENT)
    storage.store_token_data_by_resource_server(
        {"transfer.api.globus.org": _data("transfer.api.globus.org", "acc-1")}
    )

    loaded = storage.get_token_data("transfer.api.globus.org")

    assert loaded is not None
    assert loaded.to_dict() == _data("transfer.api.globus.org", "acc-1").to_dict()


def test_a_refresh_answer_without_a_refresh_token_keeps_the_stored_one(db: Database) -> None:
    storage = DatabaseTokenStorage(db, CLIENT)
    rs = "transfer.api.globus.org"
    storage.store_token_data_by_resource_server({rs: _data(rs, "acc-1")})

    storage.store_token_data_by_resource_server({rs: _data(rs, "acc-2", refresh=None)})

    loaded = storage.get_token_data(rs)
    assert loaded is not None
    assert (loaded.access_token, loaded.refresh_token) == ("acc-2", "refresh-token-value")


def test_namespaces_keep_client_ids_apart_and_removal_is_per_server(db: Database) -> None:
    mine, other = DatabaseTokenStorage(db, CLIENT), DatabaseTokenStorage(db, "other-client")
    mine.store_token_data_by_resource_server({"a": _data("a", "acc-a"), "b": _data("b", "acc-b")})

    assert other.get_token_data_by_resource_server() == {}
    assert mine.remove_token_data("a") is True
    assert mine.remove_token_data("a") is False
    assert set(mine.get_token_data_by_resource_server()) == {"b"}


def test_stored_tokens_are_redacted_from_any_output(db: Database) -> None:
    storage = DatabaseTokenStorage(db, CLIENT)
    storage.store_token_data_by_resource_server(
        {"a": _data("a", "secret-access-123", "secret-refresh-456")}
    )

    assert redact("got secret-access-123 and secret-refresh-456") == "got *** and ***"


# -- client id resolution ---------------------------------------------------------------------


def test_client_id_precedence_is_flag_then_environment_then_setting(db: Database) -> None:
    other = "2c3d4e5f-0000-4000-8000-000000000000"
    env = {clients.CLIENT_ID_ENV: other}
    clients.remember_client_id(db, CLIENT)

    assert clients.resolve_client_id(db, explicit=COLLECTION, env=env) == COLLECTION
    assert clients.resolve_client_id(db, env=env) == other
    assert clients.resolve_client_id(db, env={}) == CLIENT


def test_missing_client_id_explains_how_to_register_one(db: Database) -> None:
    with pytest.raises(ConfigError) as caught:
        clients.resolve_client_id(db, env={})
    assert "app.globus.org/settings/developers" in str(caught.value.hint)


def test_data_access_scopes_are_optional_dependencies_of_transfer() -> None:
    [scope] = clients.data_access_scopes([COLLECTION, COLLECTION])
    assert scope == (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{COLLECTION}/data_access]"
    )
    assert clients.data_access_scopes([]) == ["urn:globus:auth:scope:transfer.api.globus.org:all"]


# -- failure classification -------------------------------------------------------------------


def _api_error(
    cls: type[globus_sdk.GlobusAPIError], status: int, body: dict[str, object]
) -> globus_sdk.GlobusAPIError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.request = requests.Request("GET", "https://transfer.example/v0.10/task_list").prepare()
    return cls(response)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, {"code": "ServiceUnavailable", "message": "down"}, Failure.TRANSIENT),
        (429, {"code": "RateLimited", "message": "slow down"}, Failure.TRANSIENT),
        (504, {"code": "GatewayTimeout", "message": "late"}, Failure.TRANSIENT),
        (401, {"code": "AuthenticationFailed", "message": "Token is not active"}, Failure.LOGIN),
        (404, {"code": "ClientError.NotFound", "message": "no task"}, Failure.NOT_FOUND),
        (403, {"code": "PermissionDenied", "message": "not yours"}, Failure.DENIED),
        (400, {"code": "ClientError.BadRequest", "message": "in progress"}, Failure.REJECTED),
        (
            403,
            {"code": "ConsentRequired", "message": "consent", "required_scopes": ["x"]},
            Failure.CONSENT,
        ),
    ],
)
def test_transfer_errors_are_classified(
    status: int, body: dict[str, object], expected: Failure
) -> None:
    assert classify(_api_error(globus_sdk.TransferAPIError, status, body)) is expected


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, "invalid_grant", Failure.LOGIN),
        (401, "invalid_client", Failure.LOGIN),
        (400, "unsupported_grant_type", Failure.REJECTED),
        (502, "bad_gateway", Failure.TRANSIENT),
    ],
)
def test_auth_errors_are_classified(status: int, error: str, expected: Failure) -> None:
    exc = _api_error(globus_sdk.AuthAPIError, status, {"error": error, "error_description": "x"})
    assert classify(exc) is expected


def test_token_validation_and_network_errors_are_classified() -> None:
    assert classify(MissingTokenError("none", resource_server="x")) is Failure.LOGIN
    assert classify(globus_sdk.GlobusConnectionError("refused", ValueError())) is Failure.TRANSIENT
    assert classify(ValueError("bug")) is Failure.OTHER


def test_consent_required_names_the_collections_to_consent_to() -> None:
    scope = f"urn:x:all[*https://auth.globus.org/scopes/{COLLECTION.upper()}/data_access]"
    exc = _api_error(
        globus_sdk.TransferAPIError,
        403,
        {"code": "ConsentRequired", "message": "m", "required_scopes": [scope]},
    )

    error = login_error(exc)

    assert consent_collections(exc) == (COLLECTION,)
    assert isinstance(error, ConsentRequiredError)
    assert (
        error.hint
        == f"run `aws-copy-pt login --data-access {COLLECTION}` in a terminal to grant it"
    )


def test_a_revoked_refresh_token_is_said_in_words_without_raw_json() -> None:
    exc = _api_error(globus_sdk.AuthAPIError, 400, {"error": "invalid_grant"})

    error = login_error(exc)

    assert error.message == "the Globus login was revoked or expired (invalid_grant)"
    assert error.hint == "run `aws-copy-pt login` in a terminal"
    assert describe(exc) == "Globus answered 400 invalid_grant"


def test_a_login_of_an_app_globus_no_longer_accepts_points_at_the_client_id() -> None:
    exc = _api_error(globus_sdk.AuthAPIError, 401, {"error": "invalid_client"})

    error = login_error(exc)

    assert "(invalid_client)" in error.message and "{" not in error.message
    assert error.hint is not None and "login --client-id" in error.hint


def test_a_body_that_is_not_json_is_quoted_in_the_description() -> None:
    response = requests.Response()
    response.status_code = 502
    response._content = b"<html>Bad gateway</html>"
    response.headers["Content-Type"] = "text/html"
    response.request = requests.Request("GET", "https://transfer.example/v0.10/task").prepare()

    assert describe(globus_sdk.TransferAPIError(response)).endswith("<html>Bad gateway</html>")


# -- choosing the login flow ------------------------------------------------------------------


def test_linux_without_a_display_cannot_use_a_browser() -> None:
    assert browser_unusable_reason({}, "linux") is not None
    assert browser_unusable_reason({"DISPLAY": ":0"}, "linux") is None
    assert browser_unusable_reason({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert browser_unusable_reason({}, "darwin") is None


class _EmptyInput:
    def show_url(self, url: str) -> None:
        self.url = url

    def read_code(self) -> str:
        raise EOFError

    def notice(self, message: str) -> None:
        raise AssertionError(message)


def test_end_of_input_at_the_code_prompt_means_login_is_still_needed() -> None:
    flow = CopyPasteLoginFlow(globus_sdk.NativeAppAuthClient(client_id=CLIENT), _EmptyInput(), "t")

    with pytest.raises(NeedsLoginError, match="no authorization code was entered"):
        flow.prompt_for_code()
