"""Globus failing (5xx, timeouts, resets, "still in progress", invalid_grant, INACTIVE tasks) and
two workers started at once: the state always says what is true, and work resumes by itself
once the fault clears.

The stand-in answers the service-level faults itself (its error documents are Globus's); the
proxy in front of Globus Transfer breaks connections and holds requests until the client's
timeout (``GLOBUS_SDK_HTTP_TIMEOUT``, shortened here) gives up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from aws_copy_pt.errors import ExitCode
from tests.reliability.audit import check_landed, check_no_false_done
from tests.reliability.world import Process, World, store_login
from tests.support.faultproxy import FaultKind, ProxyRequest, matching

pytestmark = pytest.mark.slow

FILES = {f"g/{i:02d}.dat": 500 + i for i in range(6)}
TASK_LIST = r"/v0.10/task_list"
TOKEN = r"/v2/oauth2/token$"


@pytest.fixture
def quick_globus_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK gives up on an answer after 0.5 s (60 s by default)."""
    monkeypatch.setenv("GLOBUS_SDK_HTTP_TIMEOUT", "0.5")
    yield


def _pass(world: World) -> int:
    """One `run --once`, in-process; returns its exit status."""
    return world.cli("run", "--once").exit_code


def _last_error(world: World, transfer_id: int) -> str:
    [(error,)] = world.query("SELECT last_error FROM transfers WHERE id = ?", transfer_id)
    return str(error or "")


def _inject(world: World, method: str, path: str, status: int, times: int, **body: str) -> None:
    world.standin.inject(method, path, status=status, times=times, body=body or None)
    world.figures.faults += times


def _task_list(request: ProxyRequest) -> bool:
    return request.path.endswith("/task_list")


def _listing(request: ProxyRequest) -> bool:
    return request.path.endswith("/successful_transfers")


@pytest.mark.heavy
def test_5xx_timeouts_and_resets_while_polling_leave_the_transfer_waiting_until_they_clear(
    world: World, quick_globus_timeout: None
) -> None:
    task = world.add_task(FILES, script=["ACTIVE"] * 4 + ["SUCCEEDED"])
    transfer_id = world.watch(task, "archive")
    outages = [
        (lambda: _inject(world, "GET", TASK_LIST, 503, times=3), "Globus answered 503"),
        (lambda: world.globus_proxy.fail(_task_list, FaultKind.TIMEOUT, times=3), "no answer"),
        (lambda: world.globus_proxy.fail(_task_list, FaultKind.RESET, times=3), "no answer"),
    ]
    for start_outage, says in outages:
        start_outage()
        assert _pass(world) == ExitCode.WORK_REMAINS
        assert world.state(transfer_id) == "WAITING"
        assert "last poll failed" in _last_error(world, transfer_id)
        assert says in _last_error(world, transfer_id)

    codes = [_pass(world) for _ in range(4)]
    assert codes[-1] == ExitCode.OK, codes
    check_landed(world, transfer_id, world.expected(FILES, "archive"))


def test_still_in_progress_and_a_broken_page_pause_the_listing_which_resumes_at_its_page(
    world: World,
) -> None:
    world.standin.settings.successful_transfers_page_size = 20
    files = {f"p/{i:02d}.dat": 300 + i for i in range(50)}
    task = world.add_task(files)
    transfer_id = world.watch(task, "archive")
    assert world.state(transfer_id) == "LISTING"

    # Globus lists a task only once it is finished, and may say "still in progress" right
    # after reporting it SUCCEEDED.
    _inject(
        world,
        "GET",
        "/successful_transfers",
        400,
        times=1,
        code="ClientError.BadRequest",
        message=f"Task '{task}' is still in progress, successful transfers are not yet available",
    )
    assert _pass(world) == ExitCode.WORK_REMAINS
    assert (world.state(transfer_id), len(world.rows(transfer_id))) == ("LISTING", 0)
    assert "listing paused" in _last_error(world, transfer_id)

    world.globus_proxy.fail(_listing, FaultKind.RESET, times=3, skip=1)  # page 2 breaks
    assert _pass(world) == ExitCode.WORK_REMAINS
    assert (world.state(transfer_id), len(world.rows(transfer_id))) == ("LISTING", 20)

    assert _pass(world) == ExitCode.OK
    check_landed(world, transfer_id, world.expected(files, "archive"))
    assert len(world.rows(transfer_id)) == len(files)


def test_invalid_grant_on_refresh_needs_login_and_the_transfer_resumes_once_it_works_again(
    world: World,
) -> None:
    transfer_id = world.watch(world.add_task(FILES, script=["ACTIVE"] * 2 + ["SUCCEEDED"]), "a")
    world.standin.expire_access_tokens(world.user)
    _inject(world, "POST", TOKEN, 400, times=1, error="invalid_grant")

    refused = world.cli("run", "--once")

    assert refused.exit_code == ExitCode.NEEDS_LOGIN, refused.explain()
    assert "aws-copy-pt login" in refused.stderr
    assert world.state(transfer_id) == "NEEDS_LOGIN"
    assert "invalid_grant" in _last_error(world, transfer_id)
    codes = [_pass(world) for _ in range(3)]
    assert codes[-1] == ExitCode.OK, codes
    check_landed(world, transfer_id, world.expected(FILES, "a"))


def test_a_revoked_login_keeps_needing_login_until_the_user_logs_in_again(world: World) -> None:
    transfer_id = world.watch(world.add_task(FILES, script=["ACTIVE", "SUCCEEDED"]), "a")
    world.standin.revoke_all(world.user)
    world.standin.expire_access_tokens(world.user)

    assert [_pass(world) for _ in range(2)] == [ExitCode.NEEDS_LOGIN] * 2
    assert world.state(transfer_id) == "NEEDS_LOGIN"
    check_no_false_done(world, transfer_id, world.expected(FILES, "a"))

    store_login(world.home, world.standin, world.user)  # `aws-copy-pt login`
    codes = [_pass(world) for _ in range(2)]
    assert codes[-1] == ExitCode.OK, codes
    check_landed(world, transfer_id, world.expected(FILES, "a"))


def test_an_inactive_task_is_reported_and_watching_resumes_when_globus_reactivates_it(
    world: World,
) -> None:
    script = ["ACTIVE", "INACTIVE", "INACTIVE", "ACTIVE", "SUCCEEDED"]
    transfer_id = world.watch(world.add_task(FILES, script=script), "archive")

    states, codes = [], []
    for _ in range(4):
        codes.append(_pass(world))
        states.append(world.state(transfer_id))

    assert states == ["GLOBUS_INACTIVE", "GLOBUS_INACTIVE", "WAITING", "DONE"]
    assert codes == [ExitCode.GLOBUS_INACTIVE] * 2 + [ExitCode.WORK_REMAINS, ExitCode.OK]
    shown = json.loads(world.cli("--json", "transfers", "show", str(transfer_id)).ok().stdout)
    alerts = [e["message"] for e in shown["events"] if e["kind"] == "alert"]
    assert alerts and "renew the credentials of the source collection" in alerts[0]
    check_landed(world, transfer_id, world.expected(FILES, "archive"))


def _refused(world: World, process: Process) -> None:
    assert world.wait(process) == ExitCode.LOCKED, process.output()
    assert "already working" in process.output()


def _copied_once(world: World, transfer_id: int) -> None:
    copies = [r.key for r in world.proxy.records if r.operation == "CopyObject" and r.succeeded]
    keys = {row["dest_key"] for row in world.rows(transfer_id)}
    assert sorted(copies) == sorted(keys), "some object was copied more than once"


@pytest.mark.parametrize("first", ["daemon", "run --once"])
def test_a_second_worker_is_refused_while_the_first_works_and_nothing_is_copied_twice(
    world: World, first: str
) -> None:
    files = {f"two/{i:02d}.dat": 100 + i for i in range(30)}
    transfer_id = world.watch(world.add_task(files), "archive")
    gate = world.proxy.hold(matching("CopyObject"))
    working = world.daemon() if first == "daemon" else world.run_once()
    world.until(gate.reached.is_set, what="the first worker's first copy")

    second = world.run_once() if first == "daemon" else world.daemon()
    _refused(world, second)
    gate.release()

    assert world.wait(working) == ExitCode.OK, working.output()
    check_landed(world, transfer_id, world.expected(files, "archive"))
    _copied_once(world, transfer_id)


def test_two_workers_started_together_one_works_one_is_refused(world: World) -> None:
    files = {f"race/{i:02d}.dat": 100 + i for i in range(20)}
    transfer_id = world.watch(world.add_task(files), "archive")
    gate = world.proxy.hold(matching("CopyObject"))

    both = [world.daemon(), world.run_once()]
    world.until(gate.reached.is_set, what="a worker's first copy")
    world.until(lambda: any(p.popen.poll() is not None for p in both), what="one refusal")
    [loser] = [p for p in both if p.popen.poll() is not None]
    [winner] = [p for p in both if p is not loser]
    _refused(world, loser)
    gate.release()

    assert world.wait(winner) == ExitCode.OK, winner.output()
    check_landed(world, transfer_id, world.expected(files, "archive"))
    _copied_once(world, transfer_id)
