"""README.rst's own command lines, run as written against the Globus stand-in and moto.

The Quickstart is read from README.rst and walked line by line with the installed script, in
a fresh home, against a private moto server playing both accounts (``lab-staging`` owned by
the staging account, ``partner-archive`` by 222222222222, the README's destination owner) and
the Globus stand-in. Only what a reader fills in is replaced:

* the words in capitals (CLIENT_ID, ACCESS_KEY_ID, COLLECTION_ID, TASK_ID) by the stand-in's
  and moto's values; the secret comes from ``AWS_COPY_PT_SECRET_ACCESS_KEY`` as the README says;
* ``bucket add`` gets ``--endpoint-url`` of the local server (the buckets are not on AWS);
* ``login`` gets its code pasted, as the copy-paste login asks (no browser here).

Each line's exit status and key output are checked; a README line with no expectation here
fails the test, so the README and this walk change together.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aws_copy_pt.cli.docs import README
from aws_copy_pt.sandbox.data import sample_bytes
from aws_copy_pt.sandbox.globus_standin import (
    FileSpec,
    GlobusStandIn,
    SubmittedItem,
    TaskInfo,
    User,
)
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts
from tests.fixtures.cli import CliResult, installed_script, isolated_env

pytestmark = pytest.mark.slow

LINE = re.compile(r"^\s+(aws-copy-pt\s.+?)(?:\s{2,}#.*)?$")
LOGIN_URL = re.compile(r"^\s+(http://\S+/v2/oauth2/authorize\?\S+)$")
DELIVERED = {"run42/a.h5": 3_000, "run42/sub/b.h5": 40_000}

# What each Quickstart line must do: (its start, text its output must contain).
QUICKSTART_EXPECTS = (
    ("login --client-id", "Logged in to Globus as alice@example.org"),
    ("whoami", "alice@example.org"),
    ("aws add lab ", "111111111111"),
    ("aws add lab-keys ", "111111111111"),
    ("aws add writer ", "222222222222"),
    ("bucket add lab-staging ", "Registered bucket lab-staging"),
    ("policy --bucket partner-archive ", '"s3:PutObject"'),
    ("bucket add partner-archive ", "Registered bucket partner-archive"),
    ("collection add ", "Registered Lab S3 staging."),
    ("tasks", "run 42"),
    ("watch ", "Transfer 1 watches Globus task"),
    ("daemon --detach", "Daemon started"),
    ("status", "partner-archive/projects"),
)


def section(title: str) -> str:
    """The text of README.rst's section ``title`` (up to the next section)."""
    text = README.read_text()
    start = text.index(f"{title}\n{'=' * len(title)}\n")
    rest = text[start + 2 * len(title) + 2 :]
    following = re.search(r"\n(\S[^\n]*)\n=+\n", rest)
    return rest if following is None else rest[: following.start()]


def command_lines(text: str) -> list[str]:
    """The ``aws-copy-pt ...`` lines of the literal blocks in ``text``, comments dropped."""
    return [found.group(1).strip() for line in text.splitlines() if (found := LINE.match(line))]


@dataclass
class World:
    home: Path
    env: dict[str, str]
    standin: GlobusStandIn
    s3: MotoS3Server
    accounts: SandboxAccounts
    alice: User
    fill: dict[str, str]

    def run(self, line: str) -> CliResult:
        args = [self.fill.get(word, word) for word in shlex.split(line)[1:]]
        if args[:2] == ["bucket", "add"]:
            args += ["--endpoint-url", self.s3.endpoint_url]
        if args[0] == "login":
            return self._login(args)
        done = subprocess.run(
            [installed_script(), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return CliResult(args, done.returncode, done.stdout, done.stderr)

    def _login(self, args: list[str]) -> CliResult:
        """The copy-paste login: consent at the stand-in with the URL shown, paste the code."""
        proc = subprocess.Popen(
            [installed_script(), *args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        seen = []
        for line in proc.stderr:  # blocks until the URL is printed
            seen.append(line)
            if found := LOGIN_URL.match(line.rstrip("\n")):
                code = self.standin.issue_auth_code(self.alice, authorize_url=found.group(1))
                proc.stdin.write(code + "\n")
                break
        proc.stdin.close()
        stdout, rest = proc.stdout.read(), proc.stderr.read()
        return CliResult(args, proc.wait(timeout=60), stdout, "".join(seen) + rest)

    def status(self) -> list[dict[str, object]]:
        return list(json.loads(self.run("aws-copy-pt --json status").stdout)["transfers"])

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}: {self.status()}")

    def landed(self) -> dict[str, bytes]:
        client = self.s3.client(self.accounts.destination)
        listed = client.list_objects_v2(Bucket="partner-archive").get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket="partner-archive", Key=o["Key"])["Body"].read()
            for o in listed
        }


@pytest.fixture
def world(globus_standin: GlobusStandIn, app_home: Path) -> Iterator[World]:
    """Alice's Globus world, both accounts' buckets, a profile lab-admin, an empty home."""
    with MotoS3Server() as s3:
        accounts = s3.accounts()
        s3.make_bucket(accounts.staging, "lab-staging", "us-east-1")
        s3.make_bucket(accounts.destination, "partner-archive", "eu-west-1")
        staging = accounts.staging
        env = isolated_env(
            app_home,
            {
                **globus_standin.env(),
                "AWS_ENDPOINT_URL_STS": s3.endpoint_url,
                "AWS_COPY_PT_SECRET_ACCESS_KEY": staging.secret_access_key,
                "AWS_COPY_PT_SESSION_TOKEN": staging.session_token or "",
            },
        )
        Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
            "[lab-admin]\n"
            f"aws_access_key_id = {staging.access_key_id}\n"
            f"aws_secret_access_key = {staging.secret_access_key}\n"
            f"aws_session_token = {staging.session_token}\n"
        )
        alice = globus_standin.add_user("alice@example.org", name="Alice Liddell")
        cluster = globus_standin.add_collection("Lab cluster", owner=alice)
        collection = globus_standin.add_collection("Lab S3 staging", owner=alice)
        world = World(
            app_home,
            env,
            globus_standin,
            s3,
            accounts,
            alice,
            {
                "CLIENT_ID": globus_standin.client_id,
                "ACCESS_KEY_ID": staging.access_key_id,
                "COLLECTION_ID": collection,
            },
        )
        globus_standin.settings.on_succeeded = partial_deliver(world)
        globus_standin.settings.files_for_item = files_for
        world.env.update({"CLUSTER": cluster, "STAGING": collection})
        try:
            yield world
        finally:
            world.run("aws-copy-pt daemon stop")


def partial_deliver(world: World) -> Callable[[TaskInfo], None]:
    """What Globus does when a task succeeds: its files land in the staging bucket."""

    def deliver(task: TaskInfo) -> None:
        client = world.s3.client(world.accounts.staging)
        for spec in task.files:
            key = spec.destination_path.removeprefix("/lab-staging/")
            client.put_object(Bucket="lab-staging", Key=key, Body=sample_bytes(key, spec.size))

    return deliver


def files_for(item: SubmittedItem) -> list[FileSpec]:
    """A submitted run42/ directory holds the DELIVERED files."""
    source, dest = item.source_path.rstrip("/"), item.destination_path.rstrip("/")
    return [
        FileSpec(f"{source}/{name.split('/', 1)[1]}", f"{dest}/{name.split('/', 1)[1]}", size)
        for name, size in DELIVERED.items()
    ]


def _task(world: World) -> str:
    alice = world.alice
    cluster, collection = world.env["CLUSTER"], world.env["STAGING"]
    files = [FileSpec(f"/data/{n}", f"/lab-staging/{n}", size) for n, size in DELIVERED.items()]
    return world.standin.add_task(
        alice, cluster, collection, files, script=["SUCCEEDED"], label="run 42"
    )


def _walk(world: World, lines: list[str], expects: tuple[tuple[str, str], ...]) -> None:
    for line, (start, shown) in zip(lines, expects, strict=True):
        assert line.removeprefix("aws-copy-pt ").startswith(start), (line, start)
        result = world.run(line)
        assert result.exit_code == 0, result.explain()
        assert shown in result.stdout + result.stderr, result.explain()


def _expected_landing(prefix: str) -> dict[str, bytes]:
    return {f"{prefix}{name}": sample_bytes(name, size) for name, size in DELIVERED.items()}


def test_the_quickstart_works_as_written_line_by_line(world: World) -> None:
    lines = command_lines(section("Quickstart with real accounts"))
    assert len(lines) == len(QUICKSTART_EXPECTS), lines
    world.fill["TASK_ID"] = _task(world)

    _walk(world, lines, QUICKSTART_EXPECTS)

    world.wait_for(lambda: [t["state"] for t in world.status()] == ["DONE"], "DONE")
    assert world.landed() == _expected_landing("projects/")  # /lab-staging/run42/a.h5 -> ...


def test_the_submit_example_copies_the_run_folder_once_not_twice(world: World) -> None:
    setup = command_lines(section("Quickstart with real accounts"))[:9]
    _walk(world, setup, QUICKSTART_EXPECTS[:9])
    [example] = [
        line.strip("`")
        for line in section("Commands").splitlines()
        if line.strip().startswith("``aws-copy-pt submit $CLUSTER")
    ]

    done = subprocess.run(
        example.replace("aws-copy-pt", shlex.quote(installed_script()), 1),
        shell=True,  # as typed: $CLUSTER and $STAGING are the reader's shell variables
        env=world.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for _ in range(5):
        if world.run("aws-copy-pt run --once").exit_code == 0:
            break

    assert [t["state"] for t in world.status()] == ["DONE"]
    assert world.landed() == _expected_landing("projects/")
    assert not any("run42/run42" in key for key in world.landed())
