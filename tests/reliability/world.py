"""The reliability suites' world: the whole pipeline with fault proxies in front of S3 and Globus.

Registered the way a user does it (the CLI, in-process for speed): keys, the two buckets, the
Globus login, the staging collection. Both buckets are registered with the S3 fault proxy's
endpoint, so every S3 request the product makes - in this process or in a daemon subprocess - is
logged and can be failed or held; Globus Transfer requests pass a second proxy (used for gates
only: Globus faults are injected by the stand-in itself). When a scripted Globus task succeeds,
its files are written into the staging bucket, as Globus would.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.data import sample_bytes
from aws_copy_pt.sandbox.globus_standin import FileSpec, GlobusStandIn, TaskInfo, User
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts, unique_bucket_name
from tests.fixtures.cli import CliRunner, installed_script, isolated_env
from tests.fixtures.globus import store_login as store_login_in
from tests.reliability.figures import Figures
from tests.support.faultproxy import FaultProxy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
STAGING_FOLDER = "in"
# Small parts so multipart copies happen with MiBs, not GiBs (5 MiB is S3's minimum part).
SMALL_PARTS = {"multipart_threshold": 6 * MiB, "part_size": 5 * MiB}
FAST_POLLS = ("--min-poll", "0.1", "--max-poll", "1")


def content(key: str, size: int) -> bytes:
    """The bytes of staging object ``key``: deterministic, different for every key."""
    return sample_bytes(key, size)


@dataclass
class Process:
    """A product process started by a test (a daemon or `run --once`), output in files."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class World:
    standin: GlobusStandIn
    s3: MotoS3Server
    proxy: FaultProxy  # in front of S3: both buckets are registered with its endpoint
    globus_proxy: FaultProxy  # in front of Globus Transfer
    accounts: SandboxAccounts
    home: Path
    cli: CliRunner  # in-process
    env: dict[str, str]  # what a product subprocess gets
    user: User
    source: str
    staging_collection: str
    staging_bucket: str
    dest_bucket: str
    figures: Figures
    tmp: Path
    processes: list[Process] = field(default_factory=list)

    # --- the scene ---------------------------------------------------------------------------

    @property
    def staging_s3(self) -> S3Client:
        return self.s3.client(self.accounts.staging)

    @property
    def dest_s3(self) -> S3Client:
        return self.s3.client(self.accounts.destination, "eu-west-1")

    def add_task(
        self,
        files: Mapping[str, int],
        *,
        script: Iterable[str] = ("SUCCEEDED",),
        paths: Iterable[FileSpec] = (),
    ) -> str:
        """A Globus task delivering ``files`` (name -> size) into staging/in/, plus ``paths``."""
        specs = [
            FileSpec(f"/src/{name}", f"/{self.staging_bucket}/{STAGING_FOLDER}/{name}", size)
            for name, size in files.items()
        ]
        return self.standin.add_task(
            self.user,
            self.source,
            self.staging_collection,
            [*specs, *paths],
            script=list(script),
        )

    def deliver(self, task: TaskInfo) -> None:
        """What Globus does when the task succeeds: the files land in the staging bucket."""
        client = self.staging_s3
        prefix = f"/{self.staging_bucket}/"
        for spec in task.files:
            if spec.destination_path.startswith(prefix) and ".." not in spec.destination_path:
                key = spec.destination_path[len(prefix) :]
                client.put_object(Bucket=self.staging_bucket, Key=key, Body=content(key, spec.size))

    def watch(
        self, task: str, prefix: str, *flags: str, parts: Mapping[str, int] | None = None
    ) -> int:
        """`aws-copy-pt watch TASK --to DEST/PREFIX FLAGS...`; returns the transfer id.

        ``parts`` (``multipart_threshold``, ``part_size``) go into ``transfers.options``, as the
        demo sets them: no command sets them, and without them multipart needs 256 MiB objects.
        """
        args = ["--json", "watch", task, "--to", f"{self.dest_bucket}/{prefix}", *flags]
        transfer_id = int(json.loads(self.cli(*args).ok().stdout)["id"])
        if parts:
            db = open_database(Home(self.home))
            try:
                with db.session() as session:
                    transfer = session.get(Transfer, transfer_id)
                    assert transfer is not None
                    transfer.options = {**transfer.options, **parts}
            finally:
                db.close()
        return transfer_id

    @staticmethod
    def expected(files: Mapping[str, int], prefix: str) -> dict[str, bytes]:
        """Destination key -> the bytes it must hold, for ``files`` watched into ``prefix``."""
        return {
            f"{prefix}/{name}": content(f"{STAGING_FOLDER}/{name}", size)
            for name, size in files.items()
        }

    # --- product processes -------------------------------------------------------------------

    def spawn(self, *args: str) -> Process:
        """The installed script, as cron or a batch job starts it (no terminal)."""
        log = self.tmp / f"process-{len(self.processes) + 1}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [installed_script(), *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        process = Process(popen, log)
        self.processes.append(process)
        return process

    def daemon(self, *, concurrency: int = 4) -> Process:
        """`daemon --exit-when-idle` polling fast, in the foreground of its own process."""
        return self.spawn(
            "daemon", "--exit-when-idle", *FAST_POLLS, "--concurrency", str(concurrency)
        )

    def run_once(self, *, concurrency: int = 4) -> Process:
        return self.spawn("run", "--once", "--concurrency", str(concurrency))

    def wait(self, process: Process, timeout: float = 120) -> int:
        try:
            return process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()
            pytest.fail(f"{process.popen.args} did not finish:\n{process.output()[-3000:]}")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()

    # --- looking at the database -------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.home / "aws-copy-pt.db", timeout=15)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def state(self, transfer_id: int) -> str:
        [(state,)] = self.query("SELECT state FROM transfers WHERE id = ?", transfer_id)
        return str(state)

    def rows(self, transfer_id: int) -> list[dict[str, Any]]:
        columns = (
            "source_key",
            "dest_key",
            "state",
            "attempts",
            "finished_at",
            "upload_id",
            "staging_deleted",
            "last_error",
        )
        found = self.query(
            f"SELECT {', '.join(columns)} FROM object_copies WHERE transfer_id = ?",
            transfer_id,
        )
        return [dict(zip(columns, row, strict=True)) for row in found]

    def integrity(self) -> str:
        return "; ".join(str(row[0]) for row in self.query("PRAGMA integrity_check"))

    # --- looking at the buckets --------------------------------------------------------------

    def dest_objects(self, prefix: str) -> dict[str, bytes]:
        client = self.dest_s3
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.dest_bucket, Prefix=f"{prefix}/"
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return {
            key: client.get_object(Bucket=self.dest_bucket, Key=key)["Body"].read() for key in keys
        }

    def staging_keys(self) -> set[str]:
        pages = self.staging_s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.staging_bucket
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def open_uploads(self) -> list[str]:
        """Multipart uploads still open in either bucket, as ``bucket/key``."""
        found = []
        for client, bucket in (
            (self.staging_s3, self.staging_bucket),
            (self.dest_s3, self.dest_bucket),
        ):
            for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                found.append(f"{bucket}/{upload['Key']}")
        return found

    def until(self, condition: Callable[[], bool], *, timeout: float = 60, what: str) -> None:
        """Poll ``condition`` (every 50 ms) until true; fail naming ``what`` if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}")


def store_login(home: Path, standin: GlobusStandIn, user: User) -> None:
    """Tokens as `aws-copy-pt login` stores them (the login flow has its own tests)."""
    db = open_database(Home(home))
    try:
        store_login_in(db, standin, user)
    finally:
        db.close()


def register(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys, both buckets (through the S3 proxy), the login and the staging collection."""
    for name, value in world.env.items():
        if name.startswith(("GLOBUS_", "AWS_ENDPOINT_URL_STS", "AWS_COPY_PT_")):
            monkeypatch.setenv(name, value)
    staging = world.accounts.staging
    world.cli("aws", "add", "lab", "--access-key-id", staging.access_key_id).ok()
    for bucket in (world.staging_bucket, world.dest_bucket):
        world.cli(
            "bucket",
            "add",
            bucket,
            "--credentials",
            "lab",
            "--endpoint-url",
            world.proxy.endpoint_url,
        ).ok()
    store_login(world.home, world.standin, world.user)
    world.cli(
        "collection",
        "add",
        world.staging_collection,
        "--bucket",
        world.staging_bucket,
        "--key-prefix",
        f"{STAGING_FOLDER}/",
    ).ok()


def subprocess_env(
    home: Path,
    standin: GlobusStandIn,
    globus_proxy: FaultProxy,
    s3: MotoS3Server,
    accounts: SandboxAccounts,
) -> dict[str, str]:
    return isolated_env(
        home,
        {
            "GLOBUS_SDK_SERVICE_URL_AUTH": standin.auth_url,
            "GLOBUS_SDK_SERVICE_URL_TRANSFER": globus_proxy.endpoint_url + "/",
            "AWS_ENDPOINT_URL_STS": s3.endpoint_url,
            "AWS_COPY_PT_SECRET_ACCESS_KEY": accounts.staging.secret_access_key,
            "AWS_COPY_PT_SESSION_TOKEN": accounts.staging.session_token or "",
        },
    )


def new_buckets(s3: MotoS3Server, accounts: SandboxAccounts) -> tuple[str, str]:
    staging = s3.make_bucket(accounts.staging, unique_bucket_name("rel-staging"), "us-east-1")
    dest = s3.make_bucket(accounts.destination, unique_bucket_name("rel-dest"), "eu-west-1")
    return staging, dest
