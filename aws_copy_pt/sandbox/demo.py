"""The offline demo: the whole pipeline against local stand-ins, through the real code paths.

A local S3 server (moto, two accounts) and the Globus stand-in replace AWS and Globus; every
other part is what users run: the Globus login flow, credential and bucket registration with
region discovery, the staging collection, a submitted Globus transfer watched by the real
scheduler, the server-side copy engine with verification. The scenario reports what happens
through a callback and returns a summary; the CLI does the talking.

With ``engine="batch"`` the local S3 Control stand-in joins them: the destination bucket gets a
batch role and a credential of its own account, and an S3 Batch Operations job copies the
objects while the local engine copies the one above the job's size limit (lowered from 5 GiB
to 8 MiB in both the stand-in and the planner, so the demo needs no 5 GiB object); then every
object is verified the same way.

With ``cross_provider`` the archive bucket lives on a second provider (``rclone serve s3``) with
its own keys, and the objects are streamed between the two stores (``sandbox.demo_archive``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.db.models import Event, ObjectCopy, Transfer
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.data import sample_bytes
from aws_copy_pt.sandbox.demo_archive import make_archive_bucket, register_archive
from aws_copy_pt.sandbox.demo_home import remember
from aws_copy_pt.sandbox.globus_standin.models import FileSpec, SubmittedItem, TaskInfo
from aws_copy_pt.sandbox.globus_standin.standin import GlobusStandIn
from aws_copy_pt.sandbox.s3control import S3ControlStandIn
from aws_copy_pt.sandbox.s3server import MotoS3Server, RcloneS3Server, SandboxAccounts

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
STAGING_BUCKET = "demo-lab-staging"
DEST_BUCKET = "demo-partner-archive"
DEST_PREFIX = "incoming"
# (path below the transfer's source/destination directory, size in bytes)
DEMO_FILES: tuple[tuple[str, int], ...] = (
    ("README.txt", 1_200),
    ("sample sheet.csv", 18_000),
    ("reads/sample_A_R1.fastq.gz", 700_000),
    ("reads/sample_A_R2.fastq.gz", 650_000),
    ("reads/empty-lane.fastq.gz", 0),
    ("images/plate 1 (überblick).tif", 12 * MiB),  # large enough for a multipart copy
)
MULTIPART_THRESHOLD = 8 * MiB  # lowered so the demo shows a multipart copy without GiBs
PART_SIZE = 5 * MiB
BATCH_LIMIT = 8 * MiB  # the batch job's size limit, lowered from 5 GiB like the threshold

Narrate = Callable[[str], None]


@dataclass(frozen=True)
class LandedObject:
    key: str
    size: int
    state: str
    checksum: str | None  # "ALGORITHM value", as S3 computed it during the copy
    identical: bool  # re-read from both buckets and compared byte for byte
    engine: str = "local"  # what made the copy: local, or batch (an S3 Batch Operations job)
    verified_by: str | None = None  # what proved it: "md5 from ETag", "crc32c from source"...


@dataclass(frozen=True)
class DemoResult:
    home: Path
    transfer_id: int
    state: str
    objects: Sequence[LandedObject]
    route: str | None = None  # server-side | stream (core.route)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Point the SDKs at the local servers for the demo's duration, then restore."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(
    home: Home,
    narrate: Narrate,
    *,
    poll_seconds: float = 0.5,
    serve: Callable[[DemoResult], None] | None = None,
    engine: str = "local",
    cross_provider: bool = False,
) -> DemoResult:
    """Run the pipeline end to end in ``home`` (which should be new and empty); ``engine``
    ``batch`` copies through an S3 Batch Operations job on the local S3 Control stand-in;
    ``cross_provider`` puts the archive on a second store, and the objects are streamed.

    With ``serve``, the home remembers its stand-ins (``sandbox.demo_home``) and ``serve`` is
    called with the result while they still run: they stop when it returns."""
    with ExitStack() as stack:
        narrate("Starting a local S3 server (two AWS accounts) and a Globus stand-in…")
        s3 = stack.enter_context(MotoS3Server())
        globus = stack.enter_context(GlobusStandIn())
        accounts = s3.accounts()
        env = {
            **globus.env(),
            "AWS_ENDPOINT_URL_STS": s3.endpoint_url,
            "AWS_COPY_PT_GLOBUS_CLIENT_ID": globus.client_id,
        }
        control = None
        if engine == "batch":
            narrate("Starting the local S3 Control stand-in (S3 Batch Operations jobs)…")
            control = stack.enter_context(S3ControlStandIn(s3.endpoint_url))
            control.settings.max_copy_bytes = BATCH_LIMIT
            env.update(control.env())
        archive = None
        if cross_provider:
            narrate("Starting `rclone serve s3` as a second provider, for the archive…")
            archive = stack.enter_context(RcloneS3Server())
        stack.enter_context(_environment(env))
        db = open_database(home)
        stack.callback(db.close)
        scenario = _Scenario(db, s3, globus, accounts, narrate, control, archive)
        transfer_id = scenario.set_up_and_submit()
        scenario.watch_and_copy(transfer_id, poll_seconds)
        result = scenario.result(home.path, transfer_id)
        if serve is not None:
            served = {**globus.env(), "AWS_ENDPOINT_URL_STS": s3.endpoint_url}
            remember(db, {**served, **(control.env() if control is not None else {})})
            serve(result)
        return result


class _Scenario:
    def __init__(
        self,
        db: Database,
        s3: MotoS3Server,
        globus: GlobusStandIn,
        accounts: SandboxAccounts,
        narrate: Narrate,
        control: S3ControlStandIn | None = None,
        archive: RcloneS3Server | None = None,
    ) -> None:
        from aws_copy_pt.s3.clients import ClientFactory

        self.control = control
        self.archive = archive
        self.db = db
        self.s3 = s3
        self.globus = globus
        self.accounts = accounts
        self.say = narrate
        self.factory = ClientFactory()
        self.user = globus.add_user("demo-researcher@example.org", name="Demo Researcher")

    # -- set-up through the same services the commands use -----------------------------------

    def set_up_and_submit(self) -> int:
        self._make_buckets()
        self._login()
        self._register_aws()
        source, staging = self._collections()
        return self._submit(source, staging)

    def _make_buckets(self) -> None:
        s3, accounts = self.s3, self.accounts
        s3.make_bucket(accounts.staging, STAGING_BUCKET, "us-east-1")
        if self.archive is not None:
            where = make_archive_bucket(self.archive, DEST_BUCKET)
        else:
            s3.make_bucket(accounts.destination, DEST_BUCKET, "eu-west-1")
            where = f"account {accounts.destination.account_id} owns {DEST_BUCKET} (eu-west-1)"
        self.say(
            f"Account {accounts.staging.account_id} owns the staging bucket {STAGING_BUCKET}; "
            f"{where}."
        )

    def _login(self) -> None:
        from aws_copy_pt.services.setup.globus_login import login

        globus, user = self.globus, self.user

        class Prompter:
            url = ""

            def show_url(self, url: str) -> None:
                self.url = url

            def read_code(self) -> str:  # the stand-in plays the user who logs in
                return globus.issue_auth_code(user, authorize_url=self.url)

            def notice(self, message: str) -> None:
                pass

        status = login(self.db, Prompter(), allow_browser=False)
        self.say(f"Logged in to Globus as {status.identity.username if status.identity else '?'}.")

    def _register_aws(self) -> None:
        from aws_copy_pt.core.bucket_settings import BucketRequest
        from aws_copy_pt.services.setup.buckets import add_bucket
        from aws_copy_pt.services.setup.credentials import NewCredential, add_credential

        staging = self.accounts.staging
        endpoint = self.s3.endpoint_url
        with self.db.session() as session:
            info = add_credential(
                session,
                NewCredential(
                    name="lab",
                    access_key_id=staging.access_key_id,
                    secret_access_key=staging.secret_access_key,
                    session_token=staging.session_token,
                ),
                verify_with=self.factory,
            )
            self.say(f"Registered AWS credential 'lab' (account {info.account_id}).")
            archive = (
                (DEST_BUCKET, "222222222222", "lab", endpoint)
                if self.archive is None
                else register_archive(session, self.archive, DEST_BUCKET, self.factory, self.say)
            )
            for name, owner, credential, url in ((STAGING_BUCKET, None, "lab", endpoint), archive):
                bucket = add_bucket(
                    session,
                    BucketRequest(
                        name=name, credential=credential, endpoint_url=url, expected_owner=owner
                    ),
                    factory=self.factory,
                )
                self.say(f"Registered bucket {name}: region {bucket.region} found via HeadBucket.")
            if self.control is not None:
                self._register_batch(session)

    def _register_batch(self, session: Session) -> None:
        """The destination's own credential and batch role (jobs run in its account)."""
        from aws_copy_pt.services.setup.bucket_update import BucketUpdate, update_bucket
        from aws_copy_pt.services.setup.credentials import NewCredential, add_credential

        assert self.control is not None
        partner = self.accounts.destination
        add_credential(
            session,
            NewCredential(
                name="partner",
                access_key_id=partner.access_key_id,
                secret_access_key=partner.secret_access_key,
                session_token=partner.session_token,
            ),
            verify_with=self.factory,
        )
        role = self.control.register_role(partner)
        update = BucketUpdate(credential="partner", batch_role_arn=role, engine="batch")
        update_bucket(session, DEST_BUCKET, update, factory=self.factory)
        self.say(
            f"Registered credential 'partner' (account {partner.account_id}) for {DEST_BUCKET} "
            f"with the batch role {role}: copies go through S3 Batch Operations jobs."
        )

    def _collections(self) -> tuple[str, str]:
        from aws_copy_pt.globus.clients import batch_transfer_client
        from aws_copy_pt.services.setup.collections import add_collection

        globus, user = self.globus, self.user
        source = globus.add_collection("Lab cluster (demo)", owner=user)
        staging = globus.add_collection("Lab S3 staging (demo)", owner=user)

        def files_for(item: SubmittedItem) -> list[FileSpec]:
            src, dst = item.source_path.rstrip("/"), item.destination_path.rstrip("/")
            return [FileSpec(f"{src}/{p}", f"{dst}/{p}", size) for p, size in DEMO_FILES]

        globus.settings.files_for_item = files_for
        globus.settings.on_succeeded = self._deliver
        # A batch job can only put a prefix in front of each staging key, so with the batch
        # engine the collection maps the bucket's root and the keys keep their globus/ folder.
        key_prefix = "" if self.control is not None else "globus/"
        with self.db.session() as session:
            add_collection(
                session,
                batch_transfer_client(self.db),
                staging,
                bucket=STAGING_BUCKET,
                key_prefix=key_prefix,
            )
        self.say(
            f"Registered the staging collection, mapped to s3://{STAGING_BUCKET}/{key_prefix}."
        )
        return source, staging

    def _deliver(self, task: TaskInfo) -> None:
        """What Globus does at the end of the task: the files land in the staging bucket."""
        client = self.s3.client(self.accounts.staging)
        for spec in task.files:
            bucket, _, key = spec.destination_path.lstrip("/").partition("/")
            relative = spec.destination_path.rsplit("/run42/", 1)[-1]
            client.put_object(Bucket=bucket, Key=key, Body=sample_bytes(relative, spec.size))

    def _submit(self, source: str, staging: str) -> int:
        from aws_copy_pt.globus.clients import batch_transfer_client
        from aws_copy_pt.services.watch.submit import WatchOptions, submit_and_watch

        with self.db.session() as session:
            summary = submit_and_watch(
                session,
                batch_transfer_client(self.db),
                f"{source}:/data/run42/",
                f"{staging}:/{STAGING_BUCKET}/globus/run42/",
                to=f"{DEST_BUCKET}/{DEST_PREFIX}",
                options=WatchOptions(label="run 42 (demo)"),
                recursive=True,
            )
            transfer = session.get(Transfer, summary.id)
            assert transfer is not None
            transfer.options = {
                **transfer.options,
                "multipart_threshold": MULTIPART_THRESHOLD,
                "part_size": PART_SIZE,
                "batch_max_bytes": BATCH_LIMIT,
            }
        self.say(
            f"Submitted Globus task {summary.globus_task_id} ({len(DEMO_FILES)} files) and "
            f"registered it as transfer {summary.id}."
        )
        return summary.id

    # -- the unattended part: the real scheduler --------------------------------------------

    def watch_and_copy(self, transfer_id: int, poll_seconds: float) -> None:
        from aws_copy_pt.daemon.scheduler import DaemonLoop
        from aws_copy_pt.wiring import batch_workers

        workers = batch_workers(self.db, min_poll_seconds=poll_seconds, max_poll_seconds=2.0)
        self.say("Watching the task with the scheduler; it copies as soon as Globus is done…")
        DaemonLoop(self.db, workers, stop=threading.Event(), exit_when_idle=True).run()
        if self.control is not None:
            for message in self._batch_history(transfer_id):
                self.say(message)

    def _batch_history(self, transfer_id: int) -> list[str]:
        """What the batch engine did, from the transfer's history."""
        with self.db.session() as session:
            query = (
                select(Event.message)
                .where(Event.transfer_id == transfer_id, Event.kind == "batch")
                .order_by(Event.id)
            )
            return [f"Batch: {message}" for message in session.scalars(query)]

    def result(self, home: Path, transfer_id: int) -> DemoResult:
        client = self.s3.client(self.accounts.staging)
        dest = client if self.archive is None else self.archive.client()
        with self.db.session() as session:
            transfer = session.get(Transfer, transfer_id)
            assert transfer is not None
            rows = session.scalars(
                select(ObjectCopy)
                .where(ObjectCopy.transfer_id == transfer_id)
                .order_by(ObjectCopy.dest_key)
            ).all()
            landed = [
                LandedObject(
                    key=row.dest_key or "",
                    size=row.size or 0,
                    state=row.state,
                    checksum=f"{row.checksum_algorithm} {row.dest_checksum}"
                    if row.dest_checksum
                    else None,
                    identical=_same_bytes(client, dest, row.source_key, row.dest_key),
                    engine="local" if row.batch_attempt is None else "batch",
                    verified_by=row.verified_by,
                )
                for row in rows
            ]
            return DemoResult(home, transfer_id, transfer.state, landed, transfer.route)


def _same_bytes(client: S3Client, dest: S3Client, source_key: str, dest_key: str | None) -> bool:
    if dest_key is None:
        return False
    try:
        src = client.get_object(Bucket=STAGING_BUCKET, Key=source_key)["Body"].read()
        dst = dest.get_object(Bucket=DEST_BUCKET, Key=dest_key)["Body"].read()
    except Exception:  # a missing object is simply "not identical" in the summary
        return False
    return bool(src == dst)
