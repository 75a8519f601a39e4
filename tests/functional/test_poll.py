"""Polling watched Globus tasks through the real SDK against the stand-in (services.watch.poll)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.errors import NeedsLoginError
from aws_copy_pt.sandbox.globus_standin import Fault, GlobusStandIn
from aws_copy_pt.services.watch.poll import poll_transfers
from tests.fixtures.globus_world import GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _task_list_calls(world: GlobusWorld) -> list[int]:
    return [r.status for r in world.standin.requests if r.path == "/v0.10/task_list"]


def test_one_task_list_call_polls_every_watched_task(world: GlobusWorld) -> None:
    ids = [world.add_transfer(world.add_task(files(1), script=["ACTIVE"])) for _ in range(7)]

    report = poll_transfers(world.db, world.client())

    assert _task_list_calls(world) == [200]
    assert (report.polled, report.calls) == (7, 1)
    assert sorted(p.transfer_id for p in report.progress) == ids
    assert all(world.transfer(i).last_polled_at is not None for i in ids)


def test_more_than_a_thousand_watched_tasks_take_one_call_per_thousand(world: GlobusWorld) -> None:
    world.add_transfers([world.add_task(files(1), script=["ACTIVE"]) for _ in range(1001)])

    report = poll_transfers(world.db, world.client())

    assert _task_list_calls(world) == [200, 200]
    assert len(report.progress) == 1001
    limits = [r.query["limit"] for r in world.standin.requests if r.path == "/v0.10/task_list"]
    assert limits == ["1000", "1"]


def test_active_task_records_progress_and_stays_waiting(world: GlobusWorld) -> None:
    task = world.add_task(files(4, size=1000), script=["ACTIVE", "ACTIVE", "SUCCEEDED"])
    transfer_id = world.add_transfer(task)
    poll_transfers(world.db, world.client())  # first observation: step 0

    report = poll_transfers(world.db, world.client())  # step 1 of 3: a third done

    transfer = world.transfer(transfer_id)
    assert transfer.state == "WAITING"
    assert (transfer.globus_status, transfer.nice_status) == ("ACTIVE", "OK")
    assert (transfer.files_expected, transfer.files_transferred) == (4, 1)
    assert transfer.bytes_transferred == 1333
    assert transfer.effective_bytes_per_second is not None
    assert report.progress[0].bytes_per_second == transfer.effective_bytes_per_second
    assert report.moves == []


def test_inactive_task_alerts_naming_its_collections_then_resumes_by_itself(
    world: GlobusWorld,
) -> None:
    task = world.add_task(files(1), script=["INACTIVE", "ACTIVE"])
    transfer_id = world.add_transfer(task)

    first = poll_transfers(world.db, world.client())
    inactive = world.transfer(transfer_id)
    second = poll_transfers(world.db, world.client())

    assert first.moves == [(transfer_id, "WAITING", "GLOBUS_INACTIVE")]
    assert (inactive.state, inactive.nice_status) == ("GLOBUS_INACTIVE", "AUTH")
    assert "alert" in world.event_kinds(transfer_id)
    from aws_copy_pt.services.transfers import transfer_detail

    with world.db.session() as session:
        alert = [e for e in transfer_detail(session, transfer_id).events if e.kind == "alert"]
    assert (
        "renew the credentials of the source collection 'Instrument data' or the staging "
        "collection 'S3 staging' in the Globus web app"
    ) in alert[0].message
    assert f"https://app.globus.org/activity/{task}" in alert[0].message
    assert inactive.last_error == alert[0].message  # shown by `status` and notifications
    assert second.moves == [(transfer_id, "GLOBUS_INACTIVE", "WAITING")]
    assert world.transfer(transfer_id).state == "WAITING"
    assert world.transfer(transfer_id).last_error is None


def test_new_faults_are_recorded_with_globus_descriptions(world: GlobusWorld) -> None:
    fault = Fault(code="PERMISSION_DENIED", description="Permission denied on the endpoint")
    task = world.add_task(files(2), script=["ACTIVE", "ACTIVE"], faults=[fault])
    transfer_id = world.add_transfer(task)

    poll_transfers(world.db, world.client())
    assert world.transfer(transfer_id).nice_status == "PERMISSION_DENIED"
    poll_transfers(world.db, world.client())  # same fault count: no second event

    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.faults) == ("WAITING", 1)
    assert world.event_kinds(transfer_id).count("globus_fault") == 1
    from aws_copy_pt.services.transfers import transfer_detail

    with world.db.session() as session:
        events = transfer_detail(session, transfer_id).events
    assert "PERMISSION_DENIED: permission denied on the endpoint" in events[-1].message


def test_failed_task_fails_the_transfer_and_copies_nothing(world: GlobusWorld) -> None:
    task = world.add_task(
        files(5),
        script=["FAILED"],
        fatal_error=("ENDPOINT_ERROR", "The endpoint refused the write"),
        files_ok_on_failure=2,
    )
    transfer_id = world.add_transfer(task)

    report = poll_transfers(world.db, world.client())

    transfer = world.transfer(transfer_id)
    assert report.moves == [(transfer_id, "WAITING", "FAILED")]
    assert transfer.finished_at is not None
    assert "ENDPOINT_ERROR: The endpoint refused the write" in (transfer.last_error or "")
    assert f"transfers retry {transfer_id} --copy-partial" in (transfer.last_error or "")
    assert world.objects(transfer_id) == []
    assert not [r for r in world.standin.requests if "successful_transfers" in r.path]


def test_succeeded_task_moves_to_listing(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(3), script=["SUCCEEDED"]))

    report = poll_transfers(world.db, world.client())

    assert report.ready_to_list == [transfer_id]
    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.files_transferred) == ("LISTING", 3)
    assert transfer.globus_completed_at is not None


def test_burst_of_5xx_changes_no_state_and_is_retried_next_pass(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1), script=["SUCCEEDED"]))
    world.standin.inject("GET", r"/task_list", status=503, times=3)  # every SDK attempt fails

    failed = poll_transfers(world.db, world.client())

    assert (failed.transient_errors, failed.moves, failed.progress) == (1, [], [])
    assert failed.retry_soon
    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.poll_failures) == ("WAITING", 1)
    assert "503" in (transfer.last_error or "")
    assert _task_list_calls(world) == [503, 503, 503]

    recovered = poll_transfers(world.db, world.client())

    assert recovered.moves == [(transfer_id, "WAITING", "LISTING")]
    assert world.transfer(transfer_id).poll_failures == 0


def test_short_5xx_burst_is_absorbed_by_the_sdk_retry(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))
    world.standin.inject("GET", r"/task_list", status=502, times=2)

    report = poll_transfers(world.db, world.client())

    assert report.transient_errors == 0
    assert _task_list_calls(world) == [502, 502, 200]
    assert world.transfer(transfer_id).globus_status == "ACTIVE"


def test_unreachable_globus_is_transient(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1), script=["SUCCEEDED"]))
    client = world.client()
    client.base_url = "http://127.0.0.1:9/"  # discard port: connection refused

    report = poll_transfers(world.db, client)

    assert report.transient_errors == 1
    assert world.transfer(transfer_id).state == "WAITING"


def test_revoked_refresh_token_marks_transfers_needs_login_then_resumes(world: GlobusWorld) -> None:
    waiting = world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))
    inactive = world.add_transfer(
        world.add_task(files(1), script=["ACTIVE"]), state="GLOBUS_INACTIVE"
    )
    world.standin.revoke_refresh_token(world.stored_refresh_token())

    with pytest.raises(NeedsLoginError) as caught:
        poll_transfers(world.db, world.client())

    assert "invalid_grant" in caught.value.message
    assert caught.value.hint == "run `aws-copy-pt login` in a terminal"
    for transfer_id in (waiting, inactive):
        transfer = world.transfer(transfer_id)
        assert transfer.state == "NEEDS_LOGIN"
        assert "invalid_grant" in (transfer.last_error or "")

    world.login()  # the user logs in again
    report = poll_transfers(world.db, world.client())

    assert sorted(report.moves) == [
        (waiting, "NEEDS_LOGIN", "WAITING"),
        (inactive, "NEEDS_LOGIN", "WAITING"),
    ]


def test_missing_tokens_mark_transfers_needs_login(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1)))
    from aws_copy_pt.services.setup.globus_login import logout

    logout(world.db, client_id=world.standin.client_id, revoke=False)

    with pytest.raises(NeedsLoginError, match="No token data"):
        poll_transfers(world.db, world.client())
    assert world.transfer(transfer_id).state == "NEEDS_LOGIN"
    assert not _task_list_calls(world)


def test_expired_access_token_is_refreshed_and_stored(world: GlobusWorld) -> None:
    world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))
    world.standin.expire_access_tokens(world.user)

    poll_transfers(world.db, world.client())

    assert [(r.path, r.status) for r in world.standin.requests] == [
        ("/v0.10/task_list", 401),
        ("/v2/oauth2/token", 200),
        ("/v0.10/task_list", 200),
    ]
    poll_transfers(world.db, world.client())  # a new client reads the refreshed token
    assert [r.status for r in world.standin.requests][-1] == 200
    assert len([r for r in world.standin.requests if r.path == "/v2/oauth2/token"]) == 1


def test_task_globus_no_longer_lists_is_reported_once(world: GlobusWorld) -> None:
    bob = world.standin.add_user("bob@example.org")
    transfer_id = world.add_transfer(world.add_task(files(1), owner=bob))

    first = poll_transfers(world.db, world.client())
    poll_transfers(world.db, world.client())

    assert first.missing == [world.transfer(transfer_id).globus_task_id]
    assert world.transfer(transfer_id).state == "WAITING"
    assert world.event_kinds(transfer_id).count("globus_missing") == 1


def test_server_refusing_a_long_filter_gets_smaller_batches(world: GlobusWorld) -> None:
    ids = [world.add_transfer(world.add_task(files(1), script=["ACTIVE"])) for _ in range(4)]
    world.standin.inject("GET", r"/task_list", status=414, times=1)

    report = poll_transfers(world.db, world.client())

    assert _task_list_calls(world) == [414, 200, 200]
    assert sorted(p.transfer_id for p in report.progress) == ids


def test_cancelled_transfers_are_not_polled(world: GlobusWorld) -> None:
    world.add_transfer(world.add_task(files(1)), state="CANCELLED")

    report = poll_transfers(world.db, world.client())

    assert (report.polled, report.calls) == (0, 0)
    assert world.standin.requests == []


def test_revoked_login_makes_a_batch_pass_exit_needs_login(world: GlobusWorld) -> None:
    from aws_copy_pt.errors import ExitCode
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.cycle import CycleReport, Workers, poll_and_list

    transfer_id = world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))
    world.standin.revoke_refresh_token(world.stored_refresh_token())
    report = CycleReport()

    poll_and_list(world.db, Workers(transfer_client=world.client, s3=ClientFactory()), report)

    assert report.needs_login
    assert report.exit_code() == ExitCode.NEEDS_LOGIN
    assert world.transfer(transfer_id).state == "NEEDS_LOGIN"
