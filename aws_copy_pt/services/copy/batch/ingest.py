"""Reading a finished job's completion report back into the object rows (phase INGESTING).

The report is found by listing its prefix (the docs disagree on the index's name;
``core.batch_manifest.find_report``), and its per-task CSVs are streamed, ``CHUNK`` rows at a
time, each chunk one transaction:

* a task that **succeeded** moves its row ``copying -> copied``. It is not verified: the local
  engine's pass verifies every ``copied`` row against the destination (and only then may its
  staging object be deleted), exactly as it verifies its own copies;
* a task that **failed** in a job that completed puts its row back to ``pending`` for the local
  engine, with the task's error kept in the row; in a job that failed, its row fails with it;
* rows the report does not mention: with a failed-tasks-only report they succeeded (``copied``,
  still to verify); otherwise they go back to the local engine (a missing report loses nothing:
  the local engine skips what is identical at the destination already and copies the rest).
  When the job itself failed they fail with its reasons, and ``transfers retry`` gives them to
  a new job.

Every update is conditional on the row still being held by this attempt, so ingesting a report
again after a crash changes nothing twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, update

from aws_copy_pt.core.batch_engine import JobOutcome
from aws_copy_pt.core.batch_manifest import TaskResult, find_report, job_report_prefix
from aws_copy_pt.core.batch_manifest import parse_report_rows as parse_rows
from aws_copy_pt.core.states import ObjectState, check_object_transition
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.batch_files import list_keys, read_lines
from aws_copy_pt.s3.copier import CopyRoute

CHUNK = 5000
_TABLE = cast(Table, ObjectCopy.__table__)
check_object_transition(ObjectState.COPYING, ObjectState.COPIED)
_COPIED = (
    "UPDATE object_copies SET state = 'copied', last_error = NULL "
    "WHERE transfer_id = ? AND batch_attempt = ? AND state = 'copying' AND source_key = ?"
)
_HELD = and_(
    _TABLE.c.transfer_id == bindparam("t"),
    _TABLE.c.batch_attempt == bindparam("attempt"),
    _TABLE.c.state == ObjectState.COPYING.value,
)


@dataclass(frozen=True)
class IngestSpec:
    transfer_id: int
    attempt: int
    job_id: str
    outcome: JobOutcome  # COMPLETE, FAILED or CANCELLED
    report_bucket: str
    report_prefix: str
    failed_tasks_only: bool
    job_failure: str  # the job's FailureReasons, for rows of a failed job


@dataclass
class Ingested:
    report_files: int = 0
    copied: int = 0  # rows now `copied`, awaiting the local engine's verification
    back_to_local: int = 0  # rows now `pending` for the local engine
    failed: int = 0
    first_error: str | None = None


def ingest(db: Database, route: CopyRoute, spec: IngestSpec) -> Ingested:
    """Apply the job's report to its rows, then settle the rows it did not mention."""
    result = Ingested()
    listing = settings_for("ListObjectsV2", route.dest_args)
    reading = settings_for("GetObject", route.dest_args)
    prefix = job_report_prefix(spec.report_prefix, spec.job_id)
    keys = list_keys(route.dest_client, spec.report_bucket, prefix, listing)
    report = find_report(keys, spec.job_id)
    result.report_files = len(report.result_keys)
    for key in report.result_keys:
        lines = read_lines(route.dest_client, spec.report_bucket, key, reading)
        for chunk in _chunks(parse_rows(lines), CHUNK):
            _apply(db, spec, route.source_bucket, chunk, result)
    _settle_unreported(db, spec, result)
    return result


def _chunks(rows: Iterable[TaskResult], size: int) -> Iterator[list[TaskResult]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _apply(
    db: Database, spec: IngestSpec, staging: str, tasks: list[TaskResult], result: Ingested
) -> None:
    base = {"t": spec.transfer_id, "attempt": spec.attempt}
    succeeded = [
        (spec.transfer_id, spec.attempt, t.key)
        for t in tasks
        if t.succeeded and t.bucket == staging
    ]
    failed = [
        {**base, "k": t.key, "why": _task_error(spec, t)}
        for t in tasks
        if not t.succeeded and t.bucket == staging
    ]
    with db.session() as session:
        connection = session.connection()
        if succeeded:  # the bulk of a report: a plain executemany, no per-row SQLAlchemy work
            result.copied += connection.exec_driver_sql(_COPIED, succeeded).rowcount
        if failed:
            if spec.outcome is JobOutcome.FAILED:
                statement = _update(
                    ObjectState.FAILED, last_error=bindparam("why"), finished_at=_now()
                )
                result.failed += connection.execute(statement, failed).rowcount
            else:
                statement = _update(
                    ObjectState.PENDING, last_error=bindparam("why"), batch_attempt=None
                )
                result.back_to_local += connection.execute(statement, failed).rowcount
            result.first_error = result.first_error or str(failed[0]["why"])


def _settle_unreported(db: Database, spec: IngestSpec, result: Ingested) -> None:
    values: dict[str, Any]
    if spec.outcome is JobOutcome.FAILED:
        why = f"batch job {spec.job_id} failed: {spec.job_failure}"
        state, values = ObjectState.FAILED, {"last_error": why, "finished_at": _now()}
    elif spec.outcome is JobOutcome.COMPLETE and spec.failed_tasks_only:
        state, values = ObjectState.COPIED, {"last_error": None}
    else:
        why = f"batch job {spec.job_id}: not in its report; copied by the local engine instead"
        state, values = ObjectState.PENDING, {"last_error": why, "batch_attempt": None}
    statement = _update(state, by_key=False, **values)
    with db.session() as session:
        params = {"t": spec.transfer_id, "attempt": spec.attempt}
        changed = session.connection().execute(statement, params).rowcount
    if state is ObjectState.FAILED:
        result.failed += changed
    elif state is ObjectState.COPIED:
        result.copied += changed
    else:
        result.back_to_local += changed


def _update(state: ObjectState, *, by_key: bool = True, **values: Any) -> Any:
    """UPDATE the rows this attempt still holds (one by key, or all) to ``state``."""
    check_object_transition(ObjectState.COPYING, state)
    held = [_HELD, _TABLE.c.source_key == bindparam("k")] if by_key else [_HELD]
    return update(_TABLE).where(*held).values(state=state.value, **values)


def _task_error(spec: IngestSpec, task: TaskResult) -> str:
    detail = " ".join(str(part) for part in (task.http_status, task.error_code) if part)
    then = "" if spec.outcome is JobOutcome.FAILED else "; copied by the local engine instead"
    return f"batch job {spec.job_id}: task failed ({detail}): {task.message}{then}"


def _now() -> datetime:
    return datetime.now(UTC)
