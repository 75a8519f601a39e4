"""The Globus stand-in answers the real globus-sdk, over HTTP, the way Globus does."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import globus_sdk
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from globus_sdk.gare import GlobusAuthorizationParameters
from globus_sdk.login_flows import LoginFlowManager
from globus_sdk.token_storage import MemoryTokenStorage

from aws_copy_pt.sandbox.globus_standin import (
    Fault,
    FileSpec,
    GlobusStandIn,
    SubmittedItem,
    TaskInfo,
    User,
)
from tests.fixtures.globus import TransferClientFor

TRANSFER_RS = "transfer.api.globus.org"


@pytest.fixture
def alice(globus_standin: GlobusStandIn) -> User:
    return globus_standin.add_user("alice@example.org")


@pytest.fixture
def bob(globus_standin: GlobusStandIn) -> User:
    return globus_standin.add_user("bob@example.org")


@pytest.fixture
def collections(globus_standin: GlobusStandIn, alice: User) -> tuple[str, str]:
    source = globus_standin.add_collection("Instrument data", owner=alice)
    staging = globus_standin.add_collection(
        "S3 staging", owner=alice, description="AWS S3 gateway", keywords=["s3"]
    )
    return source, staging


def _files(count: int) -> list[FileSpec]:
    return [FileSpec(f"/data/f{i:05}.bin", f"/staging/f{i:05}.bin", 1024) for i in range(count)]


def _calls(standin: GlobusStandIn, path_fragment: str) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in standin.requests if path_fragment in r.path]


def _no_backoff(client: globus_sdk.BaseClient) -> None:
    # Keep the SDK's retry checks and retry budget; only skip its exponential sleeps.
    client.retry_config.backoff = lambda ctx: 0.0


# -- Auth ---------------------------------------------------------------------------------


def test_expired_access_token_is_refreshed_by_refresh_token_authorizer(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    tokens = globus_standin.issue_tokens(alice)[TRANSFER_RS]
    authorizer = globus_sdk.RefreshTokenAuthorizer(
        tokens["refresh_token"],
        globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id),
        access_token=tokens["access_token"],
        expires_at=tokens["expires_at_seconds"],
    )
    globus_standin.expire_access_tokens(alice)

    listing = globus_sdk.TransferClient(authorizer=authorizer).task_list()

    assert listing["DATA"] == []
    assert authorizer.access_token != tokens["access_token"]
    assert [(r.method, r.path, r.status) for r in globus_standin.requests] == [
        ("GET", "/v0.10/task_list", 401),
        ("POST", "/v2/oauth2/token", 200),
        ("GET", "/v0.10/task_list", 200),
    ]


def test_access_token_past_its_expiry_is_renewed_before_the_call(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    tokens = globus_standin.issue_tokens(alice, access_lifetime=1)[TRANSFER_RS]
    authorizer = globus_sdk.RefreshTokenAuthorizer(
        tokens["refresh_token"],
        globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id),
        access_token=tokens["access_token"],
        expires_at=tokens["expires_at_seconds"],
    )

    globus_sdk.TransferClient(authorizer=authorizer).task_list()

    assert [r.status for r in globus_standin.requests] == [200, 200]
    assert globus_standin.requests[0].path == "/v2/oauth2/token"


def test_revoked_refresh_token_is_rejected_with_invalid_grant(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    refresh_token = globus_standin.issue_tokens(alice)[TRANSFER_RS]["refresh_token"]
    globus_standin.revoke_refresh_token(refresh_token)
    login_client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)

    with pytest.raises(globus_sdk.AuthAPIError) as caught:
        login_client.oauth2_refresh_token(refresh_token)

    assert caught.value.http_status == 400
    assert caught.value.raw_json is not None
    assert caught.value.raw_json["error"] == "invalid_grant"


def test_revoking_through_the_api_ends_the_grant(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    tokens = globus_standin.issue_tokens(alice)[TRANSFER_RS]
    login_client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)

    login_client.oauth2_revoke_token(tokens["refresh_token"])

    client = globus_sdk.TransferClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(tokens["access_token"])
    )
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        client.task_list()
    assert (caught.value.http_status, caught.value.code) == (401, "AuthenticationFailed")


def test_transfer_call_with_unknown_token_is_401_authentication_failed(
    globus_env: dict[str, str],
) -> None:
    client = globus_sdk.TransferClient(authorizer=globus_sdk.AccessTokenAuthorizer("bogus"))

    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        client.get_submission_id()

    assert (caught.value.http_status, caught.value.code) == (401, "AuthenticationFailed")
    assert caught.value.message == "Token is not active"


def test_userinfo_and_identities_describe_the_logged_in_user(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User, bob: User
) -> None:
    auth_token = globus_standin.issue_tokens(alice)["auth.globus.org"]["access_token"]
    client = globus_sdk.AuthClient(authorizer=globus_sdk.AccessTokenAuthorizer(auth_token))

    assert client.userinfo()["sub"] == alice.id
    identities = client.get_identities(usernames=[alice.username, bob.username])
    assert {i["id"] for i in identities["identities"]} == {alice.id, bob.id}


class StandInLoginFlow(LoginFlowManager):
    """A login "browser": the user consents at the stand-in and the app gets the code."""

    def __init__(
        self, login_client: globus_sdk.NativeAppAuthClient, standin: GlobusStandIn, user: User
    ) -> None:
        super().__init__(login_client, request_refresh_tokens=True)
        self.standin = standin
        self.user = user
        self.responses: list[globus_sdk.OAuthTokenResponse] = []

    def run_login_flow(
        self, auth_parameters: GlobusAuthorizationParameters
    ) -> globus_sdk.OAuthTokenResponse:
        redirect_uri = urljoin(self.standin.auth_url, "v2/web/auth-code")
        authorize_url = self._get_authorize_url(auth_parameters, redirect_uri)
        code = self.standin.issue_auth_code(self.user, authorize_url=authorize_url)
        response = self.login_client.oauth2_exchange_code_for_tokens(code)
        self.responses.append(response)
        return response


def test_authorization_code_login_through_user_app_yields_a_valid_id_token(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    login_client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)
    flow = StandInLoginFlow(login_client, globus_standin, alice)
    config = globus_sdk.GlobusAppConfig(
        login_flow_manager=flow, token_storage=MemoryTokenStorage(), request_refresh_tokens=True
    )
    app = globus_sdk.UserApp("stand-in test", login_client=login_client, config=config)
    transfer = globus_sdk.TransferClient(app=app)

    app.login()

    # The app's storage decoded the id_token (signature, audience, expiry) to find the user.
    assert app.token_storage.identity_id == alice.id
    claims = flow.responses[0].decode_id_token()
    assert (claims["sub"], claims["aud"], claims["iss"]) == (
        alice.id,
        globus_standin.client_id,
        globus_standin.issuer,
    )
    assert transfer.task_list()["total"] == 0


def test_authorization_code_is_single_use_and_bound_to_its_pkce_verifier(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], alice: User
) -> None:
    login_client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)
    login_client.oauth2_start_flow(["openid", "email"], refresh_tokens=True)
    authorize_url = login_client.oauth2_get_authorize_url()
    stolen = globus_standin.issue_auth_code(alice, authorize_url=authorize_url)
    other_client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)
    other_client.oauth2_start_flow(["openid", "email"], refresh_tokens=True)
    with pytest.raises(globus_sdk.AuthAPIError) as wrong_verifier:
        other_client.oauth2_exchange_code_for_tokens(stolen)

    code = globus_standin.issue_auth_code(alice, authorize_url=authorize_url)
    tokens = login_client.oauth2_exchange_code_for_tokens(code)
    with pytest.raises(globus_sdk.AuthAPIError) as reused:
        login_client.oauth2_exchange_code_for_tokens(code)

    assert wrong_verifier.value.http_status == reused.value.http_status == 400
    assert tokens.by_resource_server["auth.globus.org"]["refresh_token"]


# -- Transfer: task monitoring ----------------------------------------------------------------


def test_task_list_filter_covers_several_tasks_in_one_call(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    bob: User,
    collections: tuple[str, str],
) -> None:
    src, dst = collections
    wanted = [globus_standin.add_task(alice, src, dst, _files(1)) for _ in range(3)]
    globus_standin.add_task(alice, src, dst, _files(1))
    client = transfer_client_for(alice)

    listing = client.task_list(filter={"task_id": wanted, "type": "TRANSFER", "status": "ACTIVE"})

    assert sorted(task["task_id"] for task in listing) == sorted(wanted)
    assert listing["total"] == 3
    assert listing["DATA_TYPE"] == "task_list"
    assert len(_calls(globus_standin, "/task_list")) == 1


def test_scripted_task_goes_active_active_succeeded_across_polls(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    delivered: list[TaskInfo] = []
    globus_standin.settings.on_succeeded = delivered.append
    task_id = globus_standin.add_task(
        alice, *collections, _files(4), script=["ACTIVE", "ACTIVE", "SUCCEEDED"], label="run 7"
    )
    client = transfer_client_for(alice)

    polls = [client.get_task(task_id) for _ in range(4)]

    assert [poll["status"] for poll in polls] == ["ACTIVE", "ACTIVE", "SUCCEEDED", "SUCCEEDED"]
    assert [poll["completion_time"] is None for poll in polls] == [True, True, False, False]
    assert [poll["bytes_transferred"] for poll in polls] == [0, 1365, 4096, 4096]
    assert polls[-1]["files_transferred"] == 4
    assert polls[0]["nice_status"] == "OK"
    assert polls[-1]["nice_status"] is None
    assert [info.task_id for info in delivered] == [task_id]


def test_successful_transfers_pages_2500_entries_by_marker(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(alice, *collections, _files(2500), script=["SUCCEEDED"])
    client = transfer_client_for(alice)

    entries = list(client.paginated.task_successful_transfers(task_id).items())

    assert len(entries) == 2500
    assert {entry["source_path"] for entry in entries} == {f.source_path for f in _files(2500)}
    assert entries[0]["DATA_TYPE"] == "successful_transfer"
    markers = [r.query.get("marker") for r in globus_standin.requests if "successful" in r.path]
    assert markers == [None, "1000", "2000"]


def test_successful_transfers_is_400_still_in_progress_while_active(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(alice, *collections, _files(2), script=["ACTIVE"])

    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        transfer_client_for(alice).task_successful_transfers(task_id)

    assert (caught.value.http_status, caught.value.code) == (400, "ClientError.BadRequest")
    assert "is still in progress" in str(caught.value.message)


def test_failed_task_still_lists_the_files_that_made_it(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(
        alice,
        *collections,
        _files(5),
        script=["FAILED"],
        fatal_error=("PERMISSION_DENIED", "Permission denied"),
        files_ok_on_failure=2,
    )
    client = transfer_client_for(alice)

    task = client.get_task(task_id)
    entries = list(client.task_successful_transfers(task_id))

    assert task["fatal_error"] == {"code": "PERMISSION_DENIED", "description": "Permission denied"}
    assert (task["files_transferred"], task["subtasks_failed"]) == (2, 3)
    assert [e["source_path"] for e in entries] == [f.source_path for f in _files(2)]


def test_fault_events_show_in_event_list_and_nice_status(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    fault = Fault("ENDPOINT_TOO_BUSY", "Endpoint too busy", step=1)
    task_id = globus_standin.add_task(
        alice, *collections, _files(2), script=["ACTIVE", "ACTIVE", "SUCCEEDED"], faults=[fault]
    )
    client = transfer_client_for(alice)

    first, second = client.get_task(task_id), client.get_task(task_id)
    events = list(client.task_event_list(task_id))

    assert (first["faults"], second["faults"]) == (0, 1)
    assert second["nice_status"] == "ENDPOINT_TOO_BUSY"
    assert [(e["code"], e["is_error"]) for e in events] == [
        ("ENDPOINT_TOO_BUSY", True),
        ("STARTED", False),
    ]


def test_unknown_task_is_404_not_found(transfer_client_for: TransferClientFor, alice: User) -> None:
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        transfer_client_for(alice).get_task("00000000-0000-0000-0000-000000000000")

    assert (caught.value.http_status, caught.value.code) == (404, "ClientError.NotFound")


def test_another_users_task_is_403_permission_denied(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    bob: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(alice, *collections, _files(1))

    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        transfer_client_for(bob).get_task(task_id)

    assert (caught.value.http_status, caught.value.code) == (403, "PermissionDenied")


# -- Transfer: injected failures ------------------------------------------------------------


def test_503_burst_within_the_sdk_retry_budget_is_retried_transparently(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(alice, *collections, _files(1))
    client = transfer_client_for(alice)
    _no_backoff(client)
    globus_standin.inject("GET", r"/v0\.10/task/", status=503, times=3)

    assert client.get_task(task_id)["status"] == "ACTIVE"
    assert _calls(globus_standin, "/task/") == [("GET", 503)] * 3 + [("GET", 200)]


def test_503_burst_beyond_the_retry_budget_reaches_the_caller(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    task_id = globus_standin.add_task(alice, *collections, _files(1))
    client = transfer_client_for(alice)
    _no_backoff(client)
    globus_standin.inject("GET", r"/v0\.10/task/", status=503, times=10)

    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        client.get_task(task_id)

    # One attempt plus the SDK's default five retries; the task never advanced.
    assert caught.value.http_status == 503
    assert len(_calls(globus_standin, "/task/")) == 1 + client.retry_config.max_retries
    assert globus_standin.task(task_id).status == "ACTIVE"


def test_delay_holds_a_request_before_answering(
    globus_standin: GlobusStandIn, transfer_client_for: TransferClientFor, alice: User
) -> None:
    client = transfer_client_for(alice)
    globus_standin.delay(r"/submission_id", 0.3)

    started = time.monotonic()
    client.get_submission_id()
    client.get_submission_id()

    assert 0.3 <= time.monotonic() - started < 2.0


# -- Transfer: submission and collections -------------------------------------------------------


def test_submit_transfer_creates_a_task_owned_by_the_caller(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    collections: tuple[str, str],
) -> None:
    def sized(item: SubmittedItem) -> Sequence[FileSpec]:
        return [FileSpec(item.source_path, item.destination_path, 500)]

    globus_standin.settings.files_for_item = sized
    client = transfer_client_for(alice)
    data = globus_sdk.TransferData(*collections, label="to staging")
    data.add_item("/data/a.bin", "/staging/a.bin")
    data.add_item("/data/b.bin", "/staging/b.bin")

    result = client.submit_transfer(data)
    again = client.submit_transfer(data)
    task = client.get_task(result["task_id"])

    assert (result["DATA_TYPE"], result["code"]) == ("transfer_result", "Accepted")
    assert (again["code"], again["task_id"]) == ("Duplicate", result["task_id"])
    assert (task["owner_id"], task["label"], task["files"]) == (alice.id, "to staging", 2)
    assert task["destination_endpoint_display_name"] == "S3 staging"
    assert globus_standin.task(result["task_id"]).files[1].size == 500


def test_get_endpoint_returns_the_collection_document(
    transfer_client_for: TransferClientFor, alice: User, collections: tuple[str, str]
) -> None:
    client = transfer_client_for(alice)

    document = client.get_endpoint(collections[1])
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        client.get_endpoint("00000000-0000-0000-0000-000000000000")

    assert document["DATA_TYPE"] == "endpoint"
    assert (document["display_name"], document["entity_type"]) == (
        "S3 staging",
        "GCSv5_mapped_collection",
    )
    assert document["owner_id"] == alice.id
    assert (caught.value.http_status, caught.value.code) == (404, "EndpointNotFound")


def test_endpoint_search_scopes_and_fulltext(
    globus_standin: GlobusStandIn,
    transfer_client_for: TransferClientFor,
    alice: User,
    bob: User,
    collections: tuple[str, str],
) -> None:
    globus_standin.add_collection("Bob's lab", owner=bob)
    globus_standin.add_task(alice, *collections, _files(1))
    client = transfer_client_for(alice)

    recent = [c["display_name"] for c in client.endpoint_search(filter_scope="recently-used")]
    mine = [c["id"] for c in client.endpoint_search(filter_scope="my-endpoints")]
    found = [c["display_name"] for c in client.endpoint_search("s3 gateway")]

    assert sorted(recent) == ["Instrument data", "S3 staging"]
    assert sorted(mine) == sorted(collections)
    assert found == ["S3 staging"]


# -- the server itself ------------------------------------------------------------------------


def test_stop_is_fast_and_frees_the_port(globus_signing_key: rsa.RSAPrivateKey) -> None:
    standin = GlobusStandIn(signing_key=globus_signing_key).start()
    address = urlsplit(standin.auth_url)

    started = time.monotonic()
    standin.stop()

    assert time.monotonic() - started < 1.0
    with pytest.raises(OSError), socket.create_connection((address.hostname, address.port), 1):
        pass
