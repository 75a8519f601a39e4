"""Follow rules as users manage them: add, list (with shadowing), pause, resume, remove.

A rule names a registered staging collection (and optionally a folder of it, a label glob, a
Globus Timer) and a registered destination; each pass (``services.watch.follow``) turns new
matching tasks into transfers exactly as ``watch`` does. Everything is checked when the rule is
added: the collection and the bucket are registered, the destination does not overlap staging
(the check ``watch`` uses), the options are valid. Rules created earlier win tasks that later
ones match too: ``add`` reports such shadowing and ``list`` shows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.follow import (
    FollowOutcome,
    FollowRuleError,
    RuleSpec,
    Shadow,
    check_label_glob,
    check_rule_name,
    normalize_rule_path,
    shadowing,
)
from aws_copy_pt.core.overlap import Place, check_apart
from aws_copy_pt.core.paths import PathError, parse_bucket_target, parse_uuid
from aws_copy_pt.core.route import RouteChoice, decide_route
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import FollowedTask, FollowRule
from aws_copy_pt.errors import ConfigError, NotFoundError, RemoteError, UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError, TimersLoginError
from aws_copy_pt.globus.gateway import TimersClient
from aws_copy_pt.services.copy.batch.settings import BatchOptions, check_request, options_for
from aws_copy_pt.services.setup.collections import find_bucket, find_collection, mapping_of
from aws_copy_pt.services.watch.submit import ON_CONFLICT_CHOICES, TO_HINT

EVENT_FOLLOW = "follow"


@dataclass(frozen=True)
class RuleRequest:
    """What `follow add` asks for."""

    name: str
    collection: str  # the staging collection's UUID
    to: str  # BUCKET[/PREFIX]
    path: str | None = None
    label_match: str | None = None
    timer: str | None = None
    delete_staging: bool = False
    on_conflict: str = "overwrite"
    engine: str | None = None  # None: the transfer's default engine
    route: str = "auto"  # --route (core.route): auto | server-side | stream
    since: datetime | None = None  # None: from now on


@dataclass(frozen=True)
class ShadowNote:
    rule: str  # the other rule
    kind: str  # "full" or "partial" (Shadow values)
    tasks: int  # tasks the earlier rule took that the later one matched too


@dataclass(frozen=True)
class RuleView:
    name: str
    state: str  # "active" | "paused"
    collection_id: str
    collection_name: str | None
    path: str | None
    label_match: str | None
    timer_id: str | None
    destination: str
    options: dict[str, Any]
    since: datetime
    high_water: datetime | None
    last_checked_at: datetime | None
    last_error: str | None
    registered: int
    skipped: int
    pending: int
    created_at: datetime
    shadowed_by: list[ShadowNote] = field(default_factory=list)  # earlier rules that win
    shadows: list[ShadowNote] = field(default_factory=list)  # later rules this one beats


@dataclass(frozen=True)
class RuleAdded:
    rule: RuleView
    timer_name: str | None  # read from Globus Timers, when it could be
    needs_timers_login: bool  # the stored login does not allow Timers yet


def add_rule(
    db: Database,
    request: RuleRequest,
    *,
    timers_client: Callable[[], TimersClient] | None = None,
    now: datetime | None = None,
) -> RuleAdded:
    """Check ``request`` and store the rule. With a timer, Globus Timers is asked whether it
    exists (``timers_client``); a login that does not allow Timers yet stores the rule anyway
    and says so (``needs_timers_login``): `aws-copy-pt login` then asks for Timers."""
    with db.session() as session:
        _check_request(session, request)
    timer_name, needs_login = None, False
    if request.timer is not None and timers_client is not None:
        timer_name, needs_login = _probe_timer(timers_client, _timer_id(request.timer))
    with db.session() as session:
        rule = _store(session, request, now or datetime.now(UTC))
        session.flush()
        return RuleAdded(_view(session, rule), timer_name, needs_login)


def list_rules(session: Session) -> list[RuleView]:
    """Every rule, oldest (winning) first."""
    rules, taken = _rules(session), _taken_counts(session)
    return [_view(session, rule, rules, taken) for rule in rules]


def count_rules(session: Session) -> int:
    return int(session.scalar(select(func.count(FollowRule.id))) or 0)


def remove_rule(session: Session, name: str) -> RuleView:
    """Forget a rule; the transfers it registered stay (and finish) as they are."""
    rule = get_rule(session, name)
    view = _view(session, rule)
    session.delete(rule)
    return view


def set_paused(
    session: Session,
    name: str,
    paused: bool,
    *,
    skip_missed: bool = False,
    now: datetime | None = None,
) -> RuleView:
    """Pause or resume a rule. A resumed rule catches up on the tasks requested while it was
    paused, unless ``skip_missed`` (then it follows tasks from now on)."""
    rule = get_rule(session, name)
    if rule.paused == paused:
        raise UsageError(f"follow rule {name!r} is already {'paused' if paused else 'active'}")
    rule.paused = paused
    if not paused and skip_missed:
        rule.since = now or datetime.now(UTC)
        rule.high_water = None
    rule.last_error = None
    session.flush()
    return _view(session, rule)


def get_rule(session: Session, name: str) -> FollowRule:
    rule = session.scalar(select(FollowRule).where(FollowRule.name == name))
    if rule is None:
        raise NotFoundError(
            f"there is no follow rule {name!r}", hint="`aws-copy-pt follow list` shows the rules"
        )
    return rule


def timer_rules_exist(db: Database) -> bool:
    """Whether some rule reads a Globus Timer: then `login` asks for the Timers scope too."""
    with db.session() as session:
        return bool(session.scalar(select(exists().where(FollowRule.timer_id.is_not(None)))))


def spec_of(rule: FollowRule) -> RuleSpec:
    return RuleSpec(
        rule_id=rule.id,
        name=rule.name,
        collection_id=rule.collection.collection_id,
        since=rule.since,
        path=rule.path,
        label_match=rule.label_match,
        timer_id=rule.timer_id,
    )


def destination_of(rule: FollowRule) -> str:
    """The rule's ``--to``, as `watch` takes it."""
    return rule.dest_bucket.name + (f"/{rule.dest_prefix}" if rule.dest_prefix else "")


# --- adding ------------------------------------------------------------------------------------


def _check_request(session: Session, request: RuleRequest) -> None:
    _usage(check_rule_name, request.name)
    if session.scalar(select(FollowRule.id).where(FollowRule.name == request.name)) is not None:
        raise ConfigError(
            f"a follow rule named {request.name!r} exists already",
            hint="choose another name, or `aws-copy-pt follow remove` the old rule first",
        )
    if request.on_conflict not in ON_CONFLICT_CHOICES:
        raise UsageError(f"--on-conflict must be one of {', '.join(ON_CONFLICT_CHOICES)}")
    if request.path is not None:
        _usage(normalize_rule_path, request.path)
    if request.label_match is not None:
        _usage(check_label_glob, request.label_match)
    if request.timer is not None:
        _timer_id(request.timer)
    collection = find_collection(session, request.collection)
    try:
        bucket_name, dest_prefix = parse_bucket_target(request.to)
    except PathError as exc:
        raise UsageError(str(exc), hint=TO_HINT) from None
    dest = find_bucket(session, bucket_name)
    mapping = mapping_of(collection)
    check_apart(Place(mapping.bucket, mapping.root_prefix), Place(dest.name, dest_prefix))
    engine = options_for(BatchOptions.from_command(request.engine), dest)
    check_request(engine, collection.bucket, dest, mapping.root_prefix, dest_prefix)
    staging = collection.bucket
    decide_route(
        staging.endpoint_url, dest.endpoint_url, request.route, names=(staging.name, dest.name)
    )  # server-side between two services: refused now, not at every pass


def _store(session: Session, request: RuleRequest, now: datetime) -> FollowRule:
    _check_request(session, request)  # again, in the writing transaction
    bucket_name, dest_prefix = parse_bucket_target(request.to)
    options: dict[str, Any] = {
        "on_conflict": request.on_conflict,
        "delete_staging": request.delete_staging,
    }
    if request.engine is not None:
        options["engine"] = request.engine
    if request.route != RouteChoice.AUTO:
        options["route"] = request.route
    rule = FollowRule(
        name=request.name,
        collection_id=find_collection(session, request.collection).id,
        path=normalize_rule_path(request.path) if request.path else None,
        label_match=request.label_match,
        timer_id=_timer_id(request.timer) if request.timer else None,
        dest_bucket_id=find_bucket(session, bucket_name).id,
        dest_prefix=dest_prefix,
        options=options,
        paused=False,
        since=request.since or now,
        created_at=now,
    )
    session.add(rule)
    return rule


def _probe_timer(
    timers_client: Callable[[], TimersClient], timer_id: str
) -> tuple[str | None, bool]:
    """(the timer's name, whether Timers needs a new login); refuse a timer Globus lacks."""
    try:
        page = gateway.timer_runs(timers_client(), timer_id)
    except (TimersLoginError, ConfigError):  # no Timers token, or no login at all yet
        return None, True
    except GlobusCallError as exc:
        if exc.failure in (Failure.NOT_FOUND, Failure.DENIED, Failure.REJECTED):
            raise RemoteError(
                f"Globus Timers has no timer {timer_id} that you can see ({exc.description})",
                hint="copy the timer's id from https://app.globus.org/runs/timers",
            ) from None
        raise
    return page.name, False


def _timer_id(text: str) -> str:
    try:
        return parse_uuid(text, what="Globus timer id")
    except PathError as exc:
        raise UsageError(
            str(exc), hint="copy the id from https://app.globus.org/runs/timers"
        ) from None


def _usage(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except FollowRuleError as exc:
        raise UsageError(str(exc)) from None


# --- viewing -----------------------------------------------------------------------------------


def _rules(session: Session) -> list[FollowRule]:
    return list(session.scalars(select(FollowRule).order_by(FollowRule.id)))


def _view(
    session: Session,
    rule: FollowRule,
    rules: list[FollowRule] | None = None,
    taken: Counter[tuple[int, int]] | None = None,
) -> RuleView:
    counts = Counter(
        dict(
            session.execute(
                select(FollowedTask.decision, func.count(FollowedTask.id))
                .where(FollowedTask.rule_id == rule.id)
                .group_by(FollowedTask.decision)
            ).all()
        )
    )
    shadowed_by, shadows = _shadow_notes(
        rule,
        _rules(session) if rules is None else rules,
        _taken_counts(session) if taken is None else taken,
    )
    return RuleView(
        name=rule.name,
        state="paused" if rule.paused else "active",
        collection_id=rule.collection.collection_id,
        collection_name=rule.collection.display_name,
        path=rule.path,
        label_match=rule.label_match,
        timer_id=rule.timer_id,
        destination=destination_of(rule),
        options=dict(rule.options or {}),
        since=rule.since,
        high_water=rule.high_water,
        last_checked_at=rule.last_checked_at,
        last_error=rule.last_error,
        registered=counts[FollowOutcome.REGISTER.value],
        skipped=counts[FollowOutcome.SKIP_FAILED.value],
        pending=counts[FollowOutcome.PENDING.value],
        created_at=rule.created_at,
        shadowed_by=shadowed_by,
        shadows=shadows,
    )


def _shadow_notes(
    rule: FollowRule, rules: list[FollowRule], taken: Counter[tuple[int, int]]
) -> tuple[list[ShadowNote], list[ShadowNote]]:
    """Earlier rules that win tasks this one matches, and later rules this one beats: from the
    rules' definitions, with the number of tasks where it actually happened."""
    mine = spec_of(rule)
    shadowed_by: list[ShadowNote] = []
    shadows: list[ShadowNote] = []
    for other in rules:
        if other.id == rule.id:
            continue
        theirs = spec_of(other)
        earlier, later = (theirs, mine) if other.id < rule.id else (mine, theirs)
        kind = shadowing(earlier, later)
        count = taken[(earlier.rule_id, later.rule_id)]
        if kind is None and not count:
            continue
        note = ShadowNote(other.name, (kind or Shadow.PARTIAL).value, count)
        (shadowed_by if other.id < rule.id else shadows).append(note)
    return shadowed_by, shadows


def _taken_counts(session: Session) -> Counter[tuple[int, int]]:
    """(winner rule id, shadowed rule id) -> tasks, from the decisions recorded."""
    counts: Counter[tuple[int, int]] = Counter()
    rows = session.execute(
        select(FollowedTask.rule_id, FollowedTask.also_matched).where(
            FollowedTask.decision == FollowOutcome.REGISTER.value
        )
    )
    for winner, also in rows:
        for loser in (also or {}).get("rules", []):
            counts[(winner, int(loser))] += 1
    return counts
