"""Scenario ``batch`` of copy_bench.py: the batch engine against the local engine (issue 17).

* 100,000 x 16 B objects (``--batch-objects``) on ``rclone serve s3`` are copied twice by
  `aws-copy-pt copy --engine batch` (an S3 Batch Operations job on the S3 Control stand-in)
  and `--engine local`. The stand-in runs in a process of its own
  (``python -m aws_copy_pt.sandbox.s3control``), so the job's copies (a HEAD and a CopyObject
  per task) are not counted as aws-copy-pt's CPU. aws-copy-pt's S3 requests pass a counting
  proxy (the tests' fault proxy, which injects nothing here); its S3 Control requests are
  counted by the stand-in. Both destinations are checked object by object afterwards.
  Target: the batch engine uses <= 5 % of the local engine's client CPU.
* 1,000,000 manifest rows (``--manifest-rows``): the two paths whose memory grows with a job's
  size, measured in a child process of their own (peak RSS from ``VmHWM``): streaming the rows
  the job holds out of the database into the manifest and uploading it, then ingesting a
  completion report of as many rows back into the database. (Planning reads rows in batches
  of 1,000 like the local engine; a full million-object job would take hours on moto or rclone.)
  Target: peak RSS < 150 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.core.batch_engine import JobOutcome
    from aws_copy_pt.db.engine import Database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' counting proxy

from benchmarks.copy_bench import (  # noqa: E402
    SCRIPTS,
    MiB,
    Run,
    Scene,
    high_water_kib,
    rclone_scene,
    tree_cpu,
    verify,
)
from tests.support.faultproxy import FaultProxy  # noqa: E402


@contextmanager
def standin_process(scene: Scene, workers: int) -> Iterator[dict[str, Any]]:
    """The S3 Control stand-in in its own process; yields its start-up line."""
    env = scene.env()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "aws_copy_pt.sandbox.s3control",
            "--s3-endpoint-url", scene.server.endpoint_url,
            "--account-id", scene.account.account_id,
            "--region", scene.region,
            "--workers", str(workers),
        ],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    started = json.loads(process.stdout.readline())
    summary: dict[str, Any] = {}
    try:
        yield {**started, "pid": str(process.pid), "summary": summary}
    finally:
        process.stdin.close()
        summary.update(json.loads(process.stdout.readline() or "{}"))
        process.wait(60)


def aws_copy_pt(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(SCRIPTS / "aws-copy-pt"), *args], env=env, check=True, capture_output=True)


def measure_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """wall seconds, CPU seconds (``wait4``) and peak RSS MiB (``VmHWM``) of one child."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=output)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, high_water_kib(process.pid))
            time.sleep(0.02)
        if os.waitstatus_to_exitcode(status) != 0:
            output.seek(0)
            raise SystemExit(f"{argv} failed:\n{output.read()[-3000:].decode(errors='replace')}")
    return time.monotonic() - start, usage.ru_utime + usage.ru_stime, peak / 1024


def batch(workdir: Path, count: int, rows: int) -> str:
    with rclone_scene(count, 16, workdir, per_folder=1000) as scene:
        client = scene.server.client(scene.account, scene.region)
        for bucket in ("dst-batch", "dst-local"):
            client.create_bucket(Bucket=bucket)
        with FaultProxy(scene.server.endpoint_url) as proxy, standin_process(scene, 32) as control:
            env = {**scene.env(), **control["env"]}
            aws_copy_pt(env, "aws", "add", "bench", "--access-key-id",
                        scene.account.access_key_id, "--no-check")  # fmt: skip
            for bucket in (scene.source, "dst-batch", "dst-local"):
                aws_copy_pt(env, "bucket", "add", bucket, "--credentials", "bench",
                            "--endpoint-url", proxy.endpoint_url, "--region", scene.region,
                            "--no-check")  # fmt: skip
            aws_copy_pt(env, "bucket", "update", "dst-batch", "--batch-role",
                        str(control["role_arn"]), "--no-check")  # fmt: skip
            results = []
            for engine in ("batch", "local"):
                before = len(proxy.records)
                server_before = tree_cpu(scene.server.pid)
                standin_before = tree_cpu(int(control["pid"]))
                argv = [str(SCRIPTS / "aws-copy-pt"), "copy", f"{scene.source}/p",
                        f"dst-{engine}/p", "--engine", engine]  # fmt: skip
                wall, cpu, rss = measure_child(argv, env)
                requests = len(proxy.records) - before
                server_cpu = tree_cpu(scene.server.pid) - server_before
                checked = verify(scene, f"dst-{engine}", full=False)
                run = Run(engine, wall, cpu, rss, server_cpu, scene.objects, scene.nbytes, checked)
                results.append((run, requests, tree_cpu(int(control["pid"])) - standin_before))
                print(f"  {engine:6s} {wall:7.1f} s {cpu:6.2f} CPU s {checked}", file=sys.stderr)
        control_requests = dict(control["summary"].get("requests", {}))
    memory = manifest_memory(workdir, rows)
    return _table(count, results, control_requests, rows, memory)


def _table(
    count: int,
    results: list[tuple[Run, int, float]],
    control: dict[str, int],
    rows: int,
    memory: dict[str, float],
) -> str:
    (batch_run, batch_s3, standin_cpu), (local_run, local_s3, _) = results
    control_total = sum(control.values())
    by_operation = ", ".join(f"{k} {v}" for k, v in sorted(control.items()))
    lines = [
        f"{count:,} x 16 B objects, rclone serve s3; S3 Control stand-in in its own process",
        "| engine | wall s | aws-copy-pt CPU s | peak RSS MiB | S3 requests | S3 Control requests "
        "| stand-in CPU s | server CPU s | verified |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| batch | {batch_run.wall:.1f} | {batch_run.cpu:.2f} | {batch_run.rss_mib:.0f} | "
        f"{batch_s3:,} | {control_total} ({by_operation}) "
        f"| {standin_cpu:.1f} | {batch_run.server_cpu:.1f} | {batch_run.verified} |",
        f"| local | {local_run.wall:.1f} | {local_run.cpu:.2f} | {local_run.rss_mib:.0f} | "
        f"{local_s3:,} | 0 | - | {local_run.server_cpu:.1f} | {local_run.verified} |",
        "",
        f"batch / local client CPU: {100 * batch_run.cpu / local_run.cpu:.1f} % (target <= 5 %)",
        "",
        f"{rows:,} manifest rows (child process, peak RSS {memory['peak_mib']:.0f} MiB; "
        "target < 150 MiB):",
        f"  manifest streamed from the database and uploaded: {memory['manifest_s']:.1f} s, "
        f"{memory['manifest_mib']:.0f} MiB file",
        f"  report of {rows:,} rows ingested into the database: {memory['ingest_s']:.1f} s",
    ]
    return "\n".join(lines)


def manifest_memory(workdir: Path, rows: int) -> dict[str, float]:
    """Fill a home with a ``rows``-row job and upload its report (one child process), then run
    :func:`memory_child` in a fresh one: its numbers and its peak RSS."""
    with rclone_scene(0, 16, workdir / "memory") as scene:
        out = workdir / "memory.json"
        common = [scene.server.endpoint_url, str(workdir / "memory-home"), str(out)]
        for phase in ("--memory-fill", "--memory-child"):
            argv = [sys.executable, str(Path(__file__)), phase, str(rows), *common]
            _, _, peak = measure_child(argv, scene.env())
        return {**json.loads(out.read_text()), "peak_mib": peak}


def memory_fill(rows: int, endpoint: str, home: Path, out: Path) -> None:
    """The database rows of a ``rows``-object job, and its completion report in S3."""
    from aws_copy_pt.db.engine import open_database
    from aws_copy_pt.home.paths import Home

    db = open_database(Home(home))
    transfer_id, client = fill(db, rows, endpoint)
    report(client, "mem-dst", "mem-src", rows, "r/job-bench")
    out.write_text(json.dumps({"transfer_id": transfer_id}))


def memory_child(rows: int, home: Path, out: Path) -> None:
    """In this process only: the job's manifest streamed out of the database and uploaded,
    then its report streamed back into the rows. Writes timings."""
    from aws_copy_pt.db.engine import open_database
    from aws_copy_pt.db.models import Transfer
    from aws_copy_pt.home.paths import Home
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch import manifest
    from aws_copy_pt.services.copy.batch.ingest import IngestSpec, ingest
    from aws_copy_pt.services.copy.route import build_route

    db = open_database(Home(home))
    transfer_id = int(json.loads(out.read_text())["transfer_id"])
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        route = build_route(ClientFactory(), transfer.source_bucket, transfer.dest_bucket)
    start = time.monotonic()
    uploaded = manifest.upload(
        db, route, transfer_id=transfer_id, attempt=1, versioned=False, key="m/manifest.csv"
    )
    manifest_s = time.monotonic() - start
    size = route.dest_client.head_object(Bucket="mem-dst", Key="m/manifest.csv")["ContentLength"]
    start = time.monotonic()
    spec = IngestSpec(transfer_id, 1, "bench", _complete(), "mem-dst", "r", False, "")
    done = ingest(db, route, spec)
    assert done.copied == rows and uploaded.etag, done
    out.write_text(json.dumps({
        "manifest_s": manifest_s, "manifest_mib": size / MiB, "ingest_s": time.monotonic() - start,
    }))  # fmt: skip


def _complete() -> JobOutcome:
    from aws_copy_pt.core.batch_engine import JobOutcome

    return JobOutcome.COMPLETE


def fill(db: Database, rows: int, endpoint: str) -> tuple[int, S3Client]:
    """Two buckets and a transfer whose ``rows`` rows are all held by batch attempt 1."""
    from aws_copy_pt.db.models import AwsCredential, Bucket, Transfer
    from aws_copy_pt.sandbox.s3server import RCLONE_ACCOUNT_ID

    key_id, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    with db.session() as session:
        credential = AwsCredential(
            name="bench", kind="keys", access_key_id=key_id, secret_access_key=secret,
            account_id=RCLONE_ACCOUNT_ID,
        )  # fmt: skip
        buckets = [
            Bucket(name=name, credential=credential, endpoint_url=endpoint, region="us-east-1")
            for name in ("mem-src", "mem-dst")
        ]
        session.add_all(buckets)
        session.flush()
        transfer = Transfer(
            kind="direct", state="COPYING", source_bucket_id=buckets[0].id,
            dest_bucket_id=buckets[1].id, options={},
        )  # fmt: skip
        session.add(transfer)
        session.flush()
        transfer_id = transfer.id
        for start in range(0, rows, 10_000):
            session.connection().exec_driver_sql(
                "INSERT INTO object_copies (transfer_id, source_key, dest_key, state, size, "
                "attempts, staging_deleted, batch_attempt) "
                "VALUES (?, ?, ?, 'copying', 16, 1, 0, 1)",
                [(transfer_id, _key(i), _key(i)) for i in range(start, min(rows, start + 10_000))],
            )
    from aws_copy_pt.sandbox.s3server import Account, s3_client

    account = Account("bench", RCLONE_ACCOUNT_ID, key_id, secret)
    client = s3_client(endpoint, account, "us-east-1", checksums="when_required")
    for name in ("mem-src", "mem-dst"):
        client.create_bucket(Bucket=name)
    return transfer_id, client


def _key(index: int) -> str:
    return f"p/d{index // 1000:05d}/obj {index:07d}+%.dat"  # encoded in the manifest


def report(client: S3Client, bucket: str, source: str, rows: int, prefix: str) -> None:
    """A completion report of ``rows`` succeeded tasks, written the way AWS writes it."""
    from urllib.parse import quote

    with tempfile.TemporaryFile() as body:
        for index in range(rows):
            key = quote(_key(index), safe="/")
            body.write(f"{source},{key},,succeeded,200,,Successful\n".encode())
        body.seek(0)
        client.put_object(Bucket=bucket, Key=f"{prefix}/results/bench.csv", Body=body)


if __name__ == "__main__" and sys.argv[1:2] == ["--memory-fill"]:
    memory_fill(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))
if __name__ == "__main__" and sys.argv[1:2] == ["--memory-child"]:
    memory_child(int(sys.argv[2]), Path(sys.argv[4]), Path(sys.argv[5]))
