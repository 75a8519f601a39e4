"""The S3 Control stand-in really runs copy jobs against the local moto server.

Reports are checked against the objects actually copied, and read back with the same parser
the engine uses (aws_copy_pt.core.batch_manifest).
"""

from __future__ import annotations

import io
import json
import tracemalloc

from aws_copy_pt.core.batch_manifest import (
    REPORT_FORMAT,
    find_report,
    manifest_lines,
    parse_report_index,
    parse_report_rows,
)
from tests.fixtures.s3control import BatchWorld

# moto answers 404 to a PUT of a key with a line break, so those live in the unit tests only.
HOSTILE = ["a b.txt", "x+y=z&w.txt", "100%.txt", 'dir/ünï,"q".bin', "h#sh?q;s.txt", "日本.txt"]


def _report_rows(world: BatchWorld, job_id: str) -> dict[str, list[tuple[str, str, int | None]]]:
    """Rows of the job's report by task status: (key, error code, HTTP status)."""
    files = world.report_files(job_id)
    rows: dict[str, list[tuple[str, str, int | None]]] = {}
    for name, text in files.items():
        if name.startswith("results/"):
            for row in parse_report_rows(io.StringIO(text, newline="")):
                rows.setdefault(row.status, []).append(
                    (row.key, row.error_code or "", row.http_status)
                )
    return {status: sorted(found) for status, found in rows.items()}


def test_a_job_copies_every_hostile_key_under_the_prefix(batch_world: BatchWorld) -> None:
    bodies = {key: key.encode() * 3 for key in HOSTILE}
    batch_world.put(bodies)
    job_id = batch_world.create(batch_world.manifest(HOSTILE))

    done = batch_world.standin.wait_for_status(job_id)

    assert (done.status, done.total, done.succeeded, done.failed) == ("Complete", 6, 6, 0)
    assert batch_world.destination_keys() == sorted(f"in/{key}" for key in HOSTILE)
    for key, body in bodies.items():
        copied = batch_world.destination_s3.get_object(
            Bucket=batch_world.destination, Key=f"in/{key}"
        )
        assert copied["Body"].read() == body
    assert _report_rows(batch_world, job_id) == {
        "succeeded": sorted((key, "", 200) for key in HOSTILE)
    }


def test_the_report_has_aws_layout_and_is_written_sse_s3(batch_world: BatchWorld) -> None:
    batch_world.put({"ok.txt": b"1", "denied.txt": b"2"})
    batch_world.standin.fail_key("denied.txt")
    job_id = batch_world.create(batch_world.manifest(["ok.txt", "denied.txt"]))
    batch_world.standin.wait_for_status(job_id, "Complete")

    prefix = f"batch/reports/job-{job_id}/"
    listing = batch_world.destination_s3.list_objects_v2(
        Bucket=batch_world.destination, Prefix="batch/reports/"
    )
    keys = [item["Key"] for item in listing["Contents"]]
    location = find_report(keys, job_id)
    assert location.index_key == prefix + "manifest.json"
    assert len(location.result_keys) == 2
    for key in location.result_keys:
        name = key.removeprefix(prefix + "results/")
        assert len(name) == 44 and name.endswith(".csv") and int(name[:40], 16) >= 0

    index_text = batch_world.report_files(job_id)["manifest.json"]
    index = json.loads(index_text)
    assert index["Format"] == REPORT_FORMAT and index["ReportCreationDate"].endswith("Z")
    files = parse_report_index(index_text)
    assert {entry.task_status for entry in files} == {"succeeded", "failed"}
    assert sorted(entry.key for entry in files) == list(location.result_keys)
    for key in [location.index_key, *location.result_keys]:
        head = batch_world.destination_s3.head_object(Bucket=batch_world.destination, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
    assert _report_rows(batch_world, job_id) == {
        "failed": [("denied.txt", "AccessDenied", 403)],
        "succeeded": [("ok.txt", "", 200)],
    }


def test_failed_tasks_only_reports_only_failures(batch_world: BatchWorld) -> None:
    batch_world.put({"ok.txt": b"1", "bad.txt": b"2"})
    batch_world.standin.fail_key("bad.txt", http_status=404, code="NoSuchKey", message="gone")
    job_id = batch_world.create(
        batch_world.manifest(["ok.txt", "bad.txt"]), scope="FailedTasksOnly"
    )
    done = batch_world.standin.wait_for_status(job_id)
    assert (done.status, done.succeeded, done.failed) == ("Complete", 1, 1)
    assert _report_rows(batch_world, job_id) == {"failed": [("bad.txt", "NoSuchKey", 404)]}
    assert batch_world.destination_keys() == ["in/ok.txt"]


def test_a_missing_source_fails_its_task_not_the_job(batch_world: BatchWorld) -> None:
    batch_world.put({"here.txt": b"1"})
    job_id = batch_world.create(batch_world.manifest(["here.txt", "gone.txt"]))
    done = batch_world.standin.wait_for_status(job_id)
    assert (done.status, done.succeeded, done.failed) == ("Complete", 1, 1)
    assert _report_rows(batch_world, job_id)["failed"] == [("gone.txt", "NoSuchKey", 404)]


def test_a_source_over_the_size_limit_fails_with_copy_objects_error(
    batch_world: BatchWorld,
) -> None:
    batch_world.standin.settings.max_copy_bytes = 10
    batch_world.put({"small.bin": b"x" * 10, "large.bin": b"x" * 11})
    job_id = batch_world.create(batch_world.manifest(["small.bin", "large.bin"]))
    batch_world.standin.wait_for_status(job_id, "Complete")

    assert batch_world.destination_keys() == ["in/small.bin"]
    files = batch_world.report_files(job_id)
    (failed_file,) = [text for name, text in files.items() if "large.bin" in text]
    (row,) = parse_report_rows(io.StringIO(failed_file, newline=""))
    assert (row.http_status, row.error_code) == (400, "InvalidRequest")
    assert row.message == (
        "The specified copy source is larger than the maximum allowable size for a copy source: 10"
    )


def test_a_manifest_etag_mismatch_fails_the_job_while_preparing(batch_world: BatchWorld) -> None:
    batch_world.put({"a.txt": b"1"})
    key, _ = batch_world.manifest(["a.txt"])
    job_id = batch_world.create((key, "0123456789abcdef0123456789abcdef"))

    failed = batch_world.standin.wait_for_status(job_id)

    assert (failed.status, failed.total, failed.succeeded + failed.failed) == ("Failed", None, 0)
    (code, reason), *_ = failed.failure_reasons
    assert "ETag" in reason and "0123456789abcdef0123456789abcdef" in reason
    described = batch_world.control.describe_job(AccountId=batch_world.account_id, JobId=job_id)
    assert described["Job"]["FailureReasons"] == [{"FailureCode": code, "FailureReason": reason}]
    assert batch_world.destination_keys() == [] and batch_world.report_files(job_id) == {}


def test_a_missing_manifest_fails_the_job_with_the_reading_reason(batch_world: BatchWorld) -> None:
    job_id = batch_world.create(("batch/nothing-here.csv", "0123"))
    failed = batch_world.standin.wait_for_status(job_id)
    assert failed.status == "Failed"
    assert failed.failure_reasons[0][1].startswith("Reading the manifest failed: NoSuchKey")


def test_the_failure_threshold_fails_a_job_once_most_tasks_failed(batch_world: BatchWorld) -> None:
    settings = batch_world.standin.settings
    settings.failure_threshold_min_tasks, settings.chunk_size = 4, 2
    keys = [f"k{n}" for n in range(10)]
    batch_world.put({key: b"x" for key in keys[:2]})  # 8 of 10 sources are missing
    job_id = batch_world.create(batch_world.manifest(keys))

    failed = batch_world.standin.wait_for_status(job_id)

    assert failed.status == "Failed"
    assert failed.total == 10 and failed.succeeded + failed.failed < 10  # it stopped early
    assert failed.failed * 2 > failed.succeeded + failed.failed >= 4
    assert any("50%" in reason for _, reason in failed.failure_reasons)
    rows = _report_rows(batch_world, job_id)  # the tasks that ran are reported
    assert len(rows.get("failed", [])) == failed.failed


def test_fewer_tasks_than_the_threshold_minimum_never_fail_the_job(
    batch_world: BatchWorld,
) -> None:
    keys = [f"missing-{n}" for n in range(5)]
    job_id = batch_world.create(batch_world.manifest(keys))
    done = batch_world.standin.wait_for_status(job_id)
    assert (done.status, done.failed) == ("Complete", 5)


def test_version_ids_in_the_manifest_copy_exactly_those_versions(batch_world: BatchWorld) -> None:
    batch_world.staging_s3.put_bucket_versioning(
        Bucket=batch_world.staging, VersioningConfiguration={"Status": "Enabled"}
    )
    first = batch_world.put({"v.txt": b"first"})
    second = batch_world.put({"v.txt": b"second"})
    job_id = batch_world.create(batch_world.manifest(["v.txt"], versions=first), versioned=True)
    batch_world.standin.wait_for_status(job_id, "Complete")
    for version in (first, second):  # the bucket fixture deletes current objects only
        batch_world.staging_s3.delete_object(
            Bucket=batch_world.staging, Key="v.txt", VersionId=version["v.txt"]
        )
    copied = batch_world.destination_s3.get_object(Bucket=batch_world.destination, Key="in/v.txt")
    assert copied["Body"].read() == b"first"
    (text,) = [t for n, t in batch_world.report_files(job_id).items() if n.startswith("results")]
    (row,) = parse_report_rows(io.StringIO(text, newline=""))
    assert row.version_id == first["v.txt"]


def test_copy_settings_reach_every_copied_object(batch_world: BatchWorld) -> None:
    batch_world.put({"s.txt": b"settings"})
    kms = f"arn:aws:kms:us-east-1:{batch_world.account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    job_id = batch_world.create(
        batch_world.manifest(["s.txt"]),
        copy={
            "CannedAccessControlList": "bucket-owner-full-control",
            "StorageClass": "STANDARD_IA",
            "SSEAwsKmsKeyId": kms,
            "MetadataDirective": "REPLACE",
            "NewObjectMetadata": {"UserMetadata": {"globus-task": "t-1"}},
            "NewObjectTagging": [{"Key": "globus-task", "Value": "t-1"}],
        },
    )
    assert batch_world.standin.wait_for_status(job_id).status == "Complete"
    s3, bucket = batch_world.destination_s3, batch_world.destination
    head = s3.head_object(Bucket=bucket, Key="in/s.txt")
    assert head["StorageClass"] == "STANDARD_IA"
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms)
    assert head["Metadata"] == {"globus-task": "t-1"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="in/s.txt")["TagSet"]
    assert tags == [{"Key": "globus-task", "Value": "t-1"}]


def test_the_checksum_algorithm_is_asked_of_every_copy(batch_world: BatchWorld) -> None:
    batch_world.put({"c.txt": b"checksum me"})
    job_id = batch_world.create(
        batch_world.manifest(["c.txt"]), copy={"ChecksumAlgorithm": "SHA256"}
    )
    assert batch_world.standin.wait_for_status(job_id).status == "Complete"
    head = batch_world.destination_s3.head_object(
        Bucket=batch_world.destination, Key="in/c.txt", ChecksumMode="ENABLED"
    )
    assert head.get("ChecksumSHA256")


def test_preparing_streams_the_manifest_instead_of_loading_it(batch_world: BatchWorld) -> None:
    rows = 100_000
    body = b"".join(
        manifest_lines(
            ((batch_world.staging, f"dir/object-{n:07d}.bin", None) for n in range(rows)),
            versioned=False,
        )
    )
    answer = batch_world.destination_s3.put_object(
        Bucket=batch_world.destination, Key="batch/big.csv", Body=body
    )
    standin = batch_world.standin
    standin.hold("Ready")  # count the rows, copy nothing
    tracemalloc.start()
    try:
        job_id = batch_world.create(("batch/big.csv", answer["ETag"]))
        ready = standin.wait_for_status(job_id, "Ready", timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ready.total == rows
    # The rows as Python objects would take several times the manifest's size.
    assert peak < len(body) / 2, f"peak {peak} bytes for a {len(body)}-byte manifest"
