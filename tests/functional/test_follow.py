"""Follow rules against the Globus stand-in through the real SDK (services.watch.follow): new
tasks become watched transfers once, whatever happens between passes, and the calls per pass
stay one per rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import globus_sdk
import pytest
from sqlalchemy import select

from aws_copy_pt.db.models import FollowedTask, FollowRule, Transfer
from aws_copy_pt.globus import clients
from aws_copy_pt.sandbox.globus_standin import LOGIN_SCOPES, TIMERS_SCOPE, GlobusStandIn
from aws_copy_pt.services.watch import follow as follow_service
from aws_copy_pt.services.watch.follow import follow_new_tasks
from aws_copy_pt.services.watch.follow_find import FollowReport
from aws_copy_pt.services.watch.follow_rules import (
    RuleRequest,
    add_rule,
    list_rules,
    set_paused,
)
from tests.fixtures.globus import store_login
from tests.fixtures.globus_world import DEST_BUCKET, STAGING_BUCKET, GlobusWorld, build_world

DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.register_staging()
    store_login(world.db, globus_standin, world.user, scopes=[*LOGIN_SCOPES, TIMERS_SCOPE])
    globus_standin.set_clock(DAY0)
    yield world
    world.db.close()


def _timers(world: GlobusWorld) -> globus_sdk.TimersClient:
    world.point_sdk()
    client = clients.batch_timers_client(world.db, client_id=world.standin.client_id)
    client.retry_config.backoff = lambda ctx: 0.0
    return client


def _rule(world: GlobusWorld, name: str = "lab", **kwargs: object) -> None:
    values: dict[str, object] = {"collection": world.staging, "to": f"{DEST_BUCKET}/{name}"}
    values.update(kwargs)
    values.setdefault("since", DAY0)
    add_rule(world.db, RuleRequest(name=name, **values), timers_client=lambda: _timers(world))  # type: ignore[arg-type]


def _follow(world: GlobusWorld) -> FollowReport:
    return follow_new_tasks(world.db, world.client, lambda: _timers(world))


def _file(name: str, folder: str = "run") -> tuple[str, str, int]:
    return (f"/data/{name}", f"/{STAGING_BUCKET}/{folder}/{name}", 100)


def _transfers(world: GlobusWorld) -> dict[str, Transfer]:
    with world.db.session() as session:
        return {str(t.globus_task_id): t for t in session.scalars(select(Transfer))}


def _decisions(world: GlobusWorld) -> dict[str, str]:
    with world.db.session() as session:
        rows = session.scalars(select(FollowedTask))
        return {row.globus_task_id: row.decision for row in rows}


def _calls(world: GlobusWorld, since: int) -> dict[str, int]:
    return dict(world.standin.call_counts(since=since))


# --- tasks into the collection ---------------------------------------------------------------


def test_new_tasks_into_the_staging_collection_become_transfers_named_after_the_rule(
    world: GlobusWorld,
) -> None:
    _rule(world)
    world.standin.advance_clock(timedelta(hours=1))
    running = world.add_task([_file("a")], script=["ACTIVE", "SUCCEEDED"], label="run 1")
    done = world.add_task([_file("b")], script=["SUCCEEDED"])
    other = world.standin.add_collection("elsewhere", owner=world.user)
    world.standin.add_task(world.user, world.source, other, [("/x", "/y")], script=["SUCCEEDED"])

    report = _follow(world)

    transfers = _transfers(world)
    assert sorted(transfers) == sorted([running, done])
    assert (transfers[running].state, transfers[done].state) == ("WAITING", "LISTING")
    assert transfers[running].options["follow_rule"] == "lab"
    assert transfers[running].dest_prefix == "lab/"
    assert len(report.registered) == 2
    watch_event = world.event_kinds(transfers[running].id)[0]
    assert watch_event == "watch"
    with world.db.session() as session:
        from aws_copy_pt.db.models import Event

        first = session.scalars(
            select(Event.message).where(Event.transfer_id == transfers[running].id)
        ).first()
    assert first is not None and "found by follow rule 'lab'" in first


def test_a_task_is_registered_once_however_many_passes_list_it(world: GlobusWorld) -> None:
    _rule(world)
    task = world.add_task([_file("a")], script=["SUCCEEDED"])

    first, second, third = _follow(world), _follow(world), _follow(world)

    assert (len(first.registered), second.registered, third.registered) == (1, [], [])
    assert list(_transfers(world)) == [task]


def test_a_crash_between_the_list_and_the_record_registers_each_task_exactly_once(
    world: GlobusWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rule(world)
    tasks = [world.add_task([_file(f"f{i}")], script=["SUCCEEDED"]) for i in range(3)]
    real_register = follow_service.register_task
    calls = []

    def crash_on_the_second(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_register(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(follow_service, "register_task", crash_on_the_second)
    with pytest.raises(RuntimeError, match="power cut"):
        _follow(world)
    assert _transfers(world) == {}  # the whole pass was rolled back, marks included
    monkeypatch.setattr(follow_service, "register_task", real_register)

    _follow(world)
    _follow(world)

    assert sorted(_transfers(world)) == sorted(tasks)
    with world.db.session() as session:
        assert session.scalar(select(FollowRule.high_water)) is not None


def test_a_task_watched_by_hand_before_the_rule_saw_it_stays_that_transfer(
    world: GlobusWorld,
) -> None:
    _rule(world)
    task = world.add_task([_file("a")], script=["ACTIVE"])
    by_hand = world.add_transfer(task)

    report = _follow(world)

    assert report.registered == []
    assert _transfers(world)[task].id == by_hand


def test_a_task_that_had_failed_when_first_seen_is_skipped_and_counted(world: GlobusWorld) -> None:
    _rule(world)
    failed = world.add_task([_file("a")], script=["FAILED"])

    report = _follow(world)

    assert (report.registered, report.skipped) == ([], 1)
    assert _decisions(world) == {failed: "skipped"}
    with world.db.session() as session:
        assert list_rules(session)[0].skipped == 1


def test_a_task_requested_at_the_mark_or_committed_late_is_not_missed(world: GlobusWorld) -> None:
    _rule(world)
    world.standin.advance_clock(timedelta(hours=1))
    first = world.add_task([_file("a")], script=["SUCCEEDED"])
    _follow(world)  # the mark is now the request time of `first`
    same_second = world.add_task([_file("b")], script=["SUCCEEDED"])  # clock stood still
    late = world.add_task(
        [_file("c")],
        script=["SUCCEEDED"],
        request_time=world.standin.now() - timedelta(minutes=5),  # visible only now
    )

    _follow(world)

    assert sorted(_transfers(world)) == sorted([first, same_second, late])


def test_a_full_page_of_tasks_continues_from_the_last_request_time_not_by_offset(
    world: GlobusWorld,
) -> None:
    world.standin.add_historical_tasks(world.user, world.source, world.staging, 2500)
    _rule(world, label_match="history 24*", since=DAY0 - 30 * DAY)  # 2500 x 10 min: 17 days
    mark = world.standin.request_mark()

    report = _follow(world)

    lists = [r for r in world.standin.requests[mark:] if r.path == "/v0.10/task_list"]
    assert len(lists) == 3
    assert all("offset" not in r.query for r in lists)
    starts = [r.query["filter"].split("request_time:")[1] for r in lists]
    assert starts == sorted(set(starts))  # each window starts later than the one before
    assert len(report.registered) == 1 + 10 + 100  # history 24, 240-249, 2400-2499


def test_over_a_thousand_tasks_in_one_second_are_reported_and_later_tasks_still_followed(
    world: GlobusWorld,
) -> None:
    _rule(world, label_match="later*")
    world.standin.advance_clock(DAY)
    world.standin.add_historical_tasks(
        world.user, world.source, world.staging, 1001, spacing=timedelta(0)
    )
    world.standin.advance_clock(timedelta(hours=1))
    later = world.add_task([_file("a")], script=["SUCCEEDED"], label="later 1")

    report = _follow(world)

    assert list(_transfers(world)) == [later]
    assert any("over 1000 tasks requested at" in error for error in report.errors)


# --- rules that compete ----------------------------------------------------------------------


def test_the_rule_created_first_takes_a_task_both_match_and_list_shows_the_shadowing(
    world: GlobusWorld,
) -> None:
    _rule(world, "broad")
    _rule(world, "nightly", label_match="nightly*")
    task = world.add_task([_file("a")], script=["SUCCEEDED"], label="nightly 1")

    _follow(world)

    assert _transfers(world)[task].options["follow_rule"] == "broad"
    with world.db.session() as session:
        broad, nightly = list_rules(session)
    assert (broad.registered, nightly.registered) == (1, 0)
    assert [(n.rule, n.kind, n.tasks) for n in nightly.shadowed_by] == [("broad", "full", 1)]
    assert [(n.rule, n.kind, n.tasks) for n in broad.shadows] == [("nightly", "full", 1)]


def test_a_paused_rule_takes_nothing_and_catches_up_when_resumed(world: GlobusWorld) -> None:
    _rule(world)
    with world.db.session() as session:
        set_paused(session, "lab", True)
    task = world.add_task([_file("a")], script=["SUCCEEDED"])

    assert _follow(world).rules == 0
    assert _transfers(world) == {}
    with world.db.session() as session:
        set_paused(session, "lab", False)
    _follow(world)

    assert list(_transfers(world)) == [task]


def test_resuming_with_skip_missed_follows_only_new_tasks(world: GlobusWorld) -> None:
    _rule(world)
    with world.db.session() as session:
        set_paused(session, "lab", True)
    world.add_task([_file("a")], script=["SUCCEEDED"])
    world.standin.advance_clock(timedelta(minutes=1))
    with world.db.session() as session:
        set_paused(session, "lab", False, skip_missed=True, now=world.standin.now())
    world.standin.advance_clock(timedelta(minutes=1))
    new = world.add_task([_file("b")], script=["SUCCEEDED"])

    _follow(world)

    assert list(_transfers(world)) == [new]


# --- --path: decided from the delivered files ------------------------------------------------


def test_a_path_rule_holds_a_running_task_pending_then_decides_on_its_files(
    world: GlobusWorld,
) -> None:
    _rule(world, "scope-a", path=f"/{STAGING_BUCKET}/a/")
    inside = world.add_task([_file("x", "a")], script=["ACTIVE", "SUCCEEDED"])
    outside = world.add_task([_file("y", "b")], script=["ACTIVE", "SUCCEEDED"])

    first = _follow(world)
    assert (first.pending, first.registered) == (2, [])
    second = _follow(world)  # both have finished now

    assert list(_transfers(world)) == [inside]
    assert len(second.registered) == 1
    assert _decisions(world) == {inside: "registered", outside: "none"}


def test_a_finished_task_is_decided_on_its_files_in_the_pass_that_finds_it(
    world: GlobusWorld,
) -> None:
    _rule(world, "scope-a", path=f"/{STAGING_BUCKET}/a/")
    _rule(world, "rest")
    inside = world.add_task([_file("x", "a")], script=["SUCCEEDED"])
    outside = world.add_task([_file("y", "b")], script=["SUCCEEDED"])

    _follow(world)

    transfers = _transfers(world)
    assert transfers[inside].options["follow_rule"] == "scope-a"
    assert transfers[outside].options["follow_rule"] == "rest"


# --- timers -------------------------------------------------------------------------------------


def test_a_timer_rule_registers_each_run_of_its_timer_and_nothing_else(world: GlobusWorld) -> None:
    timer = world.standin.add_timer(world.user, world.source, world.staging, name="nightly")
    _rule(world, "nightly", timer=timer)
    runs = []
    for night in (1, 2, 3):
        world.standin.advance_clock(DAY)
        runs.append(world.standin.run_timer(timer, [_file("reads.fastq", f"run{night}")]))
    by_hand = world.add_task([_file("z")], script=["SUCCEEDED"])
    mark = world.standin.request_mark()

    report = _follow(world)

    assert sorted(_transfers(world)) == sorted(runs)
    assert by_hand not in _transfers(world)
    assert len(report.registered) == 3
    assert _calls(world, mark) == {"timer.get_job": 1, "transfer.task_list": 1}
    again = world.standin.request_mark()
    _follow(world)
    assert _calls(world, again) == {"timer.get_job": 1}  # nothing new: no task_list at all


def test_a_timer_rule_pages_through_runs_down_to_the_newest_it_had_seen(
    world: GlobusWorld,
) -> None:
    world.standin.settings.timer_results_page_size = 2
    timer = world.standin.add_timer(world.user, world.source, world.staging)
    _rule(world, "nightly", timer=timer)
    runs = []
    for night in range(5):
        world.standin.advance_clock(DAY)
        runs.append(world.standin.run_timer(timer, [_file(f"n{night}")]))
    _follow(world)
    world.standin.advance_clock(DAY)
    runs.append(world.standin.run_timer(timer, [_file("n5")]))
    mark = world.standin.request_mark()

    _follow(world)

    assert sorted(_transfers(world)) == sorted(runs)
    assert _calls(world, mark)["timer.get_job"] == 1  # the newest page held everything new


def test_runs_before_the_rules_start_are_not_followed(world: GlobusWorld) -> None:
    timer = world.standin.add_timer(world.user, world.source, world.staging)
    world.standin.advance_clock(DAY)
    world.standin.run_timer(timer, [_file("old")])
    world.standin.advance_clock(DAY)
    _rule(world, "nightly", timer=timer, since=world.standin.now())
    world.standin.advance_clock(DAY)
    new = world.standin.run_timer(timer, [_file("new")])

    _follow(world)

    assert list(_transfers(world)) == [new]


# --- scale ----------------------------------------------------------------------------------------


def test_two_rules_and_5000_historical_tasks_cost_one_task_list_per_rule_per_pass(
    world: GlobusWorld,
) -> None:
    world.standin.add_historical_tasks(world.user, world.source, world.staging, 5000)
    world.standin.advance_clock(timedelta(minutes=30))
    _rule(world, "broad", since=world.standin.now())
    _rule(world, "nightly", label_match="nightly*", since=world.standin.now())
    per_pass = []
    for n in range(3):
        world.standin.advance_clock(timedelta(hours=1))
        world.add_task([_file(f"n{n}")], script=["SUCCEEDED"], label=f"nightly {n}")
        mark = world.standin.request_mark()
        _follow(world)
        per_pass.append(_calls(world, mark))

    assert per_pass == [{"transfer.task_list": 2}] * 3
    assert len(_transfers(world)) == 3


def test_a_whole_globus_pass_costs_a_call_per_rule_and_per_thousand_active_tasks(
    world: GlobusWorld,
) -> None:
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.cycle import CycleReport, Workers, apply_follow_rules, poll_and_list

    world.standin.add_historical_tasks(world.user, world.source, world.staging, 5000)
    running = [
        world.add_task([_file(f"a{i}")], script=["ACTIVE"], request_time=DAY0 + i * SECOND)
        for i in range(1200)
    ]
    world.add_transfers(running)  # watched by hand before the rules existed
    world.standin.advance_clock(timedelta(minutes=30))
    _rule(world, "broad", since=world.standin.now())
    _rule(world, "nightly", label_match="nightly*", since=world.standin.now())
    workers = Workers(world.client, ClientFactory(), timers_client=lambda: _timers(world))
    per_pass = []
    for n in range(2):
        world.standin.advance_clock(timedelta(hours=1))
        world.add_task([_file(f"n{n}")], script=["SUCCEEDED"], label=f"nightly {n}")
        mark = world.standin.request_mark()
        report = CycleReport()
        apply_follow_rules(world.db, workers, report)
        poll_and_list(world.db, workers, report)
        per_pass.append(_calls(world, mark))

    # 2 rules + 2 polls (1,200 active tasks), then the new task's file list and skipped files
    expected = {
        "transfer.task_list": 4,
        "transfer.task_successful_transfers": 1,
        "transfer.task_skipped_errors": 1,
    }
    assert per_pass == [expected, expected]
