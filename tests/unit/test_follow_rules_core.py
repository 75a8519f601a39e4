"""Follow rules, the pure part (core.follow): matching, the first created rule winning, pending
path decisions, skipped failed tasks, shadowing, and label globs that overlap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aws_copy_pt.core.follow import (
    LIST_OVERLAP,
    FollowOutcome,
    FollowRuleError,
    RuleMatch,
    RuleSpec,
    Shadow,
    TaskFacts,
    check_label_glob,
    check_rule_name,
    decide,
    filter_time,
    globs_intersect,
    list_start,
    matches,
    normalize_rule_path,
    shadowing,
)

STAGING = "6f1e0c3a-0000-4000-8000-000000000001"
OTHER = "6f1e0c3a-0000-4000-8000-000000000002"
TIMER = "1b2c3d4e-0000-4000-8000-000000000001"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _rule(rule_id: int = 1, **kwargs: object) -> RuleSpec:
    values: dict[str, object] = {
        "rule_id": rule_id,
        "name": f"r{rule_id}",
        "collection_id": STAGING,
        "since": T0,
    }
    values.update(kwargs)
    return RuleSpec(**values)  # type: ignore[arg-type]


def _task(**kwargs: object) -> TaskFacts:
    values: dict[str, object] = {
        "task_id": "t1",
        "status": "SUCCEEDED",
        "destination_collection": STAGING,
        "label": "nightly 42",
        "request_time": T0 + timedelta(hours=1),
    }
    values.update(kwargs)
    return TaskFacts(**values)  # type: ignore[arg-type]


# --- matching --------------------------------------------------------------------------------


def test_a_task_into_the_collection_after_since_matches_a_plain_rule() -> None:
    assert matches(_rule(), _task()) is RuleMatch.YES


@pytest.mark.parametrize(
    ("task", "why"),
    [
        (_task(destination_collection=OTHER), "another collection"),
        (_task(request_time=T0 - timedelta(seconds=1)), "requested before since"),
        (_task(request_time=None), "no request time"),
    ],
)
def test_tasks_outside_the_rule_do_not_match(task: TaskFacts, why: str) -> None:
    assert matches(_rule(), task) is RuleMatch.NO, why


def test_a_task_requested_exactly_at_since_matches() -> None:
    assert matches(_rule(), _task(request_time=T0)) is RuleMatch.YES


def test_label_globs_are_shell_globs_over_the_whole_label() -> None:
    assert matches(_rule(label_match="nightly *"), _task()) is RuleMatch.YES
    assert matches(_rule(label_match="nightly ?2"), _task()) is RuleMatch.YES
    assert matches(_rule(label_match="nightly"), _task()) is RuleMatch.NO
    assert matches(_rule(label_match="NIGHTLY *"), _task()) is RuleMatch.NO


def test_a_task_without_label_has_the_empty_label() -> None:
    assert matches(_rule(label_match="*"), _task(label=None)) is RuleMatch.YES
    assert matches(_rule(label_match="n*"), _task(label=None)) is RuleMatch.NO


def test_a_timer_rule_matches_only_that_timers_runs() -> None:
    assert matches(_rule(timer_id=TIMER), _task()) is RuleMatch.NO
    assert matches(_rule(timer_id=TIMER), _task(timers=frozenset({TIMER}))) is RuleMatch.YES


def test_a_path_is_undecided_until_the_delivered_files_are_known() -> None:
    rule = _rule(path="/staging/a/")
    assert matches(rule, _task()) is RuleMatch.UNDECIDED
    inside = _task(delivered_paths=("/staging/b/x", "/staging/a/y"))
    assert matches(rule, inside) is RuleMatch.YES
    assert matches(rule, _task(delivered_paths=("/staging/ab/y",))) is RuleMatch.NO
    assert matches(rule, _task(delivered_paths=())) is RuleMatch.NO


# --- deciding --------------------------------------------------------------------------------


def test_the_first_created_rule_wins_and_later_matches_are_recorded_as_shadowed() -> None:
    rules = [_rule(3), _rule(1), _rule(2, label_match="other*")]
    decision = decide(rules, _task())
    assert (decision.outcome, decision.rule_id, decision.also_matched) == (
        FollowOutcome.REGISTER,
        1,
        (3,),
    )


def test_no_matching_rule_decides_nothing() -> None:
    assert decide([_rule(label_match="x*")], _task()).outcome is FollowOutcome.NONE


def test_a_task_that_had_failed_when_first_seen_is_skipped() -> None:
    decision = decide([_rule()], _task(status="FAILED"))
    assert (decision.outcome, decision.rule_id) == (FollowOutcome.SKIP_FAILED, 1)


def test_a_pending_task_that_failed_meanwhile_is_registered_to_report_the_failure() -> None:
    decision = decide([_rule()], _task(status="FAILED"), first_sight=False)
    assert decision.outcome is FollowOutcome.REGISTER


def test_an_active_task_is_registered_at_once_when_no_path_is_asked() -> None:
    assert decide([_rule()], _task(status="ACTIVE")).outcome is FollowOutcome.REGISTER


def test_an_earlier_rule_with_a_path_keeps_the_task_pending_over_a_later_plain_rule() -> None:
    rules = [_rule(1, path="/staging/a/"), _rule(2)]
    running = _task(status="ACTIVE")
    decision = decide(rules, running)
    assert (decision.outcome, decision.rule_id) == (FollowOutcome.PENDING, 1)
    outside = replace(running, status="SUCCEEDED", delivered_paths=("/staging/b/x",))
    decision = decide(rules, outside, first_sight=False)
    assert (decision.outcome, decision.rule_id) == (FollowOutcome.REGISTER, 2)


def test_a_later_rule_with_a_path_does_not_hold_back_an_earlier_plain_rule() -> None:
    decision = decide([_rule(1), _rule(2, path="/staging/a/")], _task(status="ACTIVE"))
    assert (decision.outcome, decision.rule_id, decision.also_matched) == (
        FollowOutcome.REGISTER,
        1,
        (2,),
    )


# --- windows and names -----------------------------------------------------------------------


def test_the_list_window_starts_at_since_then_overlaps_the_newest_request_seen() -> None:
    assert list_start(T0, None) == T0
    mark = T0 + timedelta(days=2)
    assert list_start(T0, mark) == mark - LIST_OVERLAP
    assert list_start(T0, T0 + timedelta(minutes=1)) == T0


def test_filter_times_are_utc_seconds() -> None:
    assert filter_time(datetime(2026, 3, 2, 2, 0, 5, 123, tzinfo=UTC)) == "2026-03-02 02:00:05"


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 101])
def test_unusable_rule_names_are_refused(name: str) -> None:
    with pytest.raises(FollowRuleError):
        check_rule_name(name)


def test_rule_paths_are_normalized_and_dot_segments_refused() -> None:
    assert normalize_rule_path("/staging/a") == "/staging/a/"
    with pytest.raises(FollowRuleError, match="--path"):
        normalize_rule_path("/staging/../a/")


def test_label_globs_must_be_short_printable_text() -> None:
    assert check_label_glob("run *") == "run *"
    for bad in ("", "a\nb", "x" * 201):
        with pytest.raises(FollowRuleError):
            check_label_glob(bad)


# --- shadowing -------------------------------------------------------------------------------


def test_a_broader_earlier_rule_fully_shadows_a_narrower_later_one() -> None:
    later = _rule(2, path="/staging/a/", label_match="n*", since=T0 + timedelta(days=1))
    assert shadowing(_rule(1), later) is Shadow.FULL


def test_a_narrower_earlier_rule_partly_shadows_a_broader_later_one() -> None:
    assert shadowing(_rule(1, label_match="n*"), _rule(2)) is Shadow.PARTIAL


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (_rule(1), _rule(2, collection_id=OTHER)),
        (_rule(1, path="/s/a/"), _rule(2, path="/s/b/")),
        (_rule(1, label_match="a*"), _rule(2, label_match="b*")),
        (_rule(1, timer_id=TIMER), _rule(2, timer_id="1b2c3d4e-0000-4000-8000-000000000009")),
    ],
)
def test_rules_that_can_never_match_the_same_task_do_not_shadow(
    earlier: RuleSpec, later: RuleSpec
) -> None:
    assert shadowing(earlier, later) is None


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("nightly-*", "*-run", True),
        ("a*", "b*", False),
        ("run-?", "run-10", False),
        ("run-??", "run-1*", True),
        ("[abc]x", "dx", True),  # classes count as any character: may report overlap, never miss
        ("*", "", True),
        ("a", "a*b", False),
        ("*a*", "*b*", True),
    ],
)
def test_glob_intersection(a: str, b: str, meet: bool) -> None:
    assert globs_intersect(a, b) is meet
    assert globs_intersect(b, a) is meet
