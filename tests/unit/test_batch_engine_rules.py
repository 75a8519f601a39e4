"""The batch engine's pure rules: engine choice, what a job can copy, phases, job statuses."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.batch_engine import (
    Engine,
    Exclusion,
    JobFiles,
    JobOutcome,
    Phase,
    check_engine,
    check_phase_transition,
    check_role_arn,
    decide_engine,
    exclusion,
    job_outcome,
    mapping_problem,
    role_account,
    target_key_prefix,
)
from aws_copy_pt.core.bucket_settings import BucketRequest, normalize
from aws_copy_pt.core.states import IllegalTransitionError
from aws_copy_pt.errors import UsageError

ROLE = "arn:aws:iam::222222222222:role/aws-copy-pt-batch"


def test_auto_picks_batch_at_the_threshold_when_a_role_is_registered() -> None:
    decision = decide_engine(Engine.AUTO, objects=100_000, threshold=100_000, role_arn=ROLE)
    assert decision.engine is Engine.BATCH


def test_auto_stays_local_below_the_threshold_and_says_why() -> None:
    decision = decide_engine(Engine.AUTO, objects=99_999, threshold=100_000, role_arn=ROLE)
    assert decision.engine is Engine.LOCAL
    assert "99,999" in decision.why and "100,000" in decision.why


def test_auto_stays_local_without_a_batch_role_whatever_the_size() -> None:
    decision = decide_engine(Engine.AUTO, objects=10**7, threshold=1, role_arn=None)
    assert decision.engine is Engine.LOCAL
    assert "no batch role" in decision.why


def test_an_explicit_engine_wins_over_the_threshold() -> None:
    assert (
        decide_engine(Engine.BATCH, objects=1, threshold=10, role_arn=ROLE).engine is Engine.BATCH
    )
    assert (
        decide_engine(Engine.LOCAL, objects=10**6, threshold=1, role_arn=ROLE).engine
        is Engine.LOCAL
    )


@pytest.mark.parametrize(
    ("source", "dest", "target"),
    [
        ("", "", ""),
        ("", "archive", "archive/"),
        ("globus/", "archive/globus", "archive/"),
        ("globus", "globus/", ""),
        ("a/b/", "x/a/b/", "x/"),
    ],
)
def test_a_job_prepends_the_destination_prefix_minus_the_staging_prefix(
    source: str, dest: str, target: str
) -> None:
    assert target_key_prefix(source, dest) == target
    assert mapping_problem(source, dest) is None


@pytest.mark.parametrize(("source", "dest"), [("globus/", "archive"), ("globus/", "xglobus/")])
def test_a_mapping_that_strips_the_staging_prefix_cannot_be_a_job(source: str, dest: str) -> None:
    assert target_key_prefix(source, dest) is None
    problem = mapping_problem(source, dest)
    assert problem is not None and "only prepend" in problem and "globus/" in problem


def test_objects_over_the_limit_or_mapped_elsewhere_or_of_unknown_size_stay_local() -> None:
    def why(dest_key: str, size: int | None) -> Exclusion | None:
        return exclusion(
            source_key="run/a", dest_key=dest_key, size=size, target="archive/", max_bytes=100
        )

    assert why("archive/run/a", 100) is None
    assert why("archive/run/a", 101) is Exclusion.TOO_LARGE
    assert why("other/run/a", 1) is Exclusion.KEY_MAPPING
    assert why("archive/run/a", None) is Exclusion.SIZE_UNKNOWN


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("New", JobOutcome.RUNNING),
        ("Preparing", JobOutcome.RUNNING),
        ("Active", JobOutcome.RUNNING),
        ("Completing", JobOutcome.RUNNING),
        ("Suspended", JobOutcome.AWAITING_CONFIRMATION),
        ("Complete", JobOutcome.COMPLETE),
        ("Failed", JobOutcome.FAILED),
        ("Cancelled", JobOutcome.CANCELLED),
    ],
)
def test_job_statuses_map_onto_what_the_transfer_does(status: str, outcome: JobOutcome) -> None:
    assert job_outcome(status) is outcome


def test_a_job_cannot_skip_a_phase_nor_leave_a_final_one() -> None:
    assert check_phase_transition("planned", Phase.UPLOADED) is Phase.UPLOADED
    with pytest.raises(IllegalTransitionError):
        check_phase_transition("planned", Phase.SUBMITTED)  # no job without its manifest
    with pytest.raises(IllegalTransitionError):
        check_phase_transition("done", Phase.INGESTING)


def test_role_arns_are_checked_and_name_the_account_jobs_run_in() -> None:
    assert check_role_arn("arn:aws:iam::222222222222:role/path/to/r") == (
        "arn:aws:iam::222222222222:role/path/to/r"
    )
    assert role_account(ROLE) == "222222222222"
    with pytest.raises(UsageError, match="not an IAM role ARN"):
        check_role_arn("arn:aws:iam::222222222222:user/alice")


def test_engine_names_are_checked_with_a_hint() -> None:
    assert check_engine("BATCH") is Engine.BATCH
    with pytest.raises(UsageError, match="local, batch, auto"):
        check_engine("fast")


def test_a_batch_role_of_another_account_than_the_buckets_owner_is_refused() -> None:
    request = BucketRequest(
        name="archive", credential="c", expected_owner="333333333333", batch_role_arn=ROLE
    )
    with pytest.raises(UsageError, match="copy jobs run in the destination account"):
        normalize(request)


def test_job_files_live_under_one_folder_per_home_transfer_and_attempt() -> None:
    files = JobFiles.of("home1", 7, 2)
    assert files.manifest_key == ".aws-copy-pt-batch/home1/transfer-7/attempt-2/manifest.csv"
    assert files.report_prefix == ".aws-copy-pt-batch/home1/transfer-7/attempt-2/reports"


@pytest.mark.parametrize(
    "key", ["plain/key.dat", "a b", "ü/文件", "x+y", "100%", "~tilde-._/", "", "a,b", "q?s#f"]
)
def test_the_manifests_fast_path_encodes_exactly_like_percent_encoding(key: str) -> None:
    from urllib.parse import quote

    from aws_copy_pt.core.batch_manifest import encode_key

    assert encode_key(key) == quote(key, safe="/")
