"""Crash paths a new user hit: an outside system missing or out of reach, met by a command that
is not copying. Each row must end with its documented exit status (7: Globus or S3 could not be
reached or refused; 6: the local set-up, e.g. an AWS profile that is not defined) and a hint
naming what to run, never an internal error.

Globus "out of reach" is real: the SDK's service URLs point at a loopback port that refuses
connections. AWS profiles are real files (``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``).
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.wizard import CTRL_C, DEFAULT_WAIT, WizardWorld, answer
from tests.reliability.bad_input import Bench, Case, Table, Trial, judge
from tests.reliability.figures import Figures

TABLE = Table()
CLIENT_ID = "6b0a1c5e-8f0e-4c9a-9d39-5a3b1f0c2e7d"
NETWORK_HINT = "check the network"


def as_crash_path(figures: Figures, clear: bool) -> None:
    figures.crash_paths += 1
    figures.crash_paths_known += clear


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL nothing answers (bound, never listening, held for the test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


def _globus_unreachable(bench: Bench) -> None:
    """Every Globus service URL of this test (in-process and in subprocesses) goes nowhere."""
    url = bench.env["REFUSED_URL"]
    for service in ("AUTH", "TRANSFER"):
        bench.monkeypatch.setenv(f"GLOBUS_SDK_SERVICE_URL_{service}", url)
        bench.env[f"GLOBUS_SDK_SERVICE_URL_{service}"] = url


# --- Globus out of reach ----------------------------------------------------------------------


@TABLE.row("login: Globus Auth unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _login_unreachable(bench: Bench) -> Trial:
    _globus_unreachable(bench)
    home = bench.fresh_home()
    args = ("login", "--no-browser", "--client-id", CLIENT_ID)
    return Trial(args, home=home, run=bench.script(home, typed="a-code-from-globus\n"))


@TABLE.row("whoami: Globus Auth unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _whoami_unreachable(bench: Bench) -> Trial:
    _globus_unreachable(bench)
    return Trial(("whoami",))


@TABLE.row("tasks: Globus Transfer unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _tasks_unreachable(bench: Bench) -> Trial:
    _globus_unreachable(bench)
    return Trial(("tasks",))


@TABLE.row("watch: Globus Transfer unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _watch_unreachable(bench: Bench) -> Trial:
    task = bench.w.add_task({"a.dat": 1})
    _globus_unreachable(bench)
    return Trial(("watch", task, "--to", f"{bench.w.dest_bucket}/x"))


@TABLE.row("collection add: Globus Transfer unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _collection_unreachable(bench: Bench) -> Trial:
    other = bench.w.standin.add_collection("second staging", owner=bench.w.user)
    _globus_unreachable(bench)
    return Trial(("collection", "add", other, "--bucket", bench.w.staging_bucket))


@TABLE.row("logout: Globus Auth unreachable", ExitCode.REMOTE, "Globus", "--local-only")
def _logout_unreachable(bench: Bench) -> Trial:
    _globus_unreachable(bench)
    return Trial(("logout",))


@TABLE.row("submit: Globus Transfer unreachable", ExitCode.REMOTE, "Globus", NETWORK_HINT)
def _submit_unreachable(bench: Bench) -> Trial:
    world = bench.w
    _globus_unreachable(bench)
    source = f"{world.source}:/src/run1/"
    staging = f"{world.staging_collection}:/{world.staging_bucket}/in/run1/"
    return Trial(("submit", source, staging, "-r", "--to", f"{world.dest_bucket}/s"))


@TABLE.row(
    "transfers cancel --globus: Globus Transfer unreachable", ExitCode.REMOTE, "Globus", "retry"
)
def _cancel_unreachable(bench: Bench) -> Trial:
    world = bench.w
    transfer = world.watch(world.add_task({"a.dat": 1}, script=("ACTIVE",)), "c")
    _globus_unreachable(bench)
    return Trial(("transfers", "cancel", str(transfer), "--globus"))


# --- AWS profiles that are missing or hold no usable keys -------------------------------------


def _profile_credential(bench: Bench, config: str = "", credentials: str = "") -> None:
    """Register credential ``lab2`` naming profile ``gone``; the AWS files hold ``config`` and
    ``credentials``."""
    user_home = bench.w.home.parent / "user-home"
    (user_home / "aws-config").write_text(config)
    (user_home / "aws-credentials").write_text(credentials)
    bench.cli("aws", "add", "lab2", "--profile", "gone", "--no-check").ok()


UPDATE_PROFILE = "aws-copy-pt aws update lab2 --profile"


def _bucket_add(bench: Bench, config: str = "", credentials: str = "") -> Trial:
    _profile_credential(bench, config, credentials)
    name = f"more-{uuid.uuid4().hex[:8]}"
    return Trial(("bucket", "add", name, "--credentials", "lab2"))


@TABLE.row(
    "bucket add: the credential's AWS profile does not exist",
    ExitCode.CONFIG,
    "AWS profile 'gone' of credential 'lab2' is not defined",
    UPDATE_PROFILE,
)
def _bucket_add_profile_missing(bench: Bench) -> Trial:
    return _bucket_add(bench)


@TABLE.row(
    "bucket add: the AWS profile holds no keys",
    ExitCode.CONFIG,
    "AWS profile 'gone' of credential 'lab2' holds no usable credentials",
    UPDATE_PROFILE,
)
def _bucket_add_profile_empty(bench: Bench) -> Trial:
    return _bucket_add(bench, config="[profile gone]\nregion = us-east-1\n")


@TABLE.row(
    "bucket add: the AWS profile holds half a key pair",
    ExitCode.CONFIG,
    "AWS profile 'gone' of credential 'lab2' holds an incomplete key pair",
    UPDATE_PROFILE,
)
def _bucket_add_profile_partial(bench: Bench) -> Trial:
    return _bucket_add(bench, credentials="[gone]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")


@TABLE.row(
    "copy --dry-run: the destination's AWS profile does not exist",
    ExitCode.CONFIG,
    "AWS profile 'gone' of credential 'lab2' is not defined",
    UPDATE_PROFILE,
)
def _copy_profile_missing(bench: Bench) -> Trial:
    world = bench.w
    _profile_credential(bench)
    name = f"more-{uuid.uuid4().hex[:8]}"
    endpoint = ("--endpoint-url", world.proxy.endpoint_url)
    bench.cli("bucket", "add", name, "--credentials", "lab2", *endpoint, "--no-check").ok()
    return Trial(("copy", name, f"{world.dest_bucket}/x", "--dry-run"))


@TABLE.row(
    "aws check: the AWS profile does not exist",
    ExitCode.CONFIG,
    "AWS profile 'gone' of credential 'lab2' is not defined",
    UPDATE_PROFILE,
)
def _aws_check_profile_missing(bench: Bench) -> Trial:
    _profile_credential(bench)
    return Trial(("aws", "check", "lab2"))


# --- S3 out of reach ---------------------------------------------------------------------------


@TABLE.row(
    "bucket check: the S3 endpoint is unreachable",
    ExitCode.REMOTE,
    "cannot reach the S3 endpoint",
    NETWORK_HINT,
)
def _bucket_check_unreachable(bench: Bench) -> Trial:
    world = bench.w
    name = f"gone-{uuid.uuid4().hex[:8]}"
    endpoint = bench.env["REFUSED_URL"].rstrip("/")
    bench.cli(
        "bucket", "add", name, "--credentials", "lab", "--endpoint-url", endpoint, "--no-check"
    ).ok()
    assert world.staging_bucket  # the world is registered: only this bucket is out of reach
    return Trial(("bucket", "check", name))


@pytest.mark.heavy
@pytest.mark.parametrize("case", TABLE.cases, ids=TABLE.ids)
def test_outside_failures_end_with_their_documented_exit_code_and_a_hint(
    case: Case, bench: Bench, refused_url: str, figures: Figures
) -> None:
    bench.env["REFUSED_URL"] = refused_url
    judge(case, bench, figures, as_crash_path)


def test_the_wizards_login_with_globus_unreachable_says_so_and_offers_to_retry(
    wizard_world: WizardWorld, refused_url: str, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    world = wizard_world
    for service in ("AUTH", "TRANSFER"):
        monkeypatch.setenv(f"GLOBUS_SDK_SERVICE_URL_{service}", refused_url)
    run = world.run([answer(""), answer("paste", CLIENT_ID)])  # welcome; the client id asked
    run.wait_for(r"/v2/oauth2/authorize\?")
    run.send(answer("a-code-from-globus"))
    run.prompts.wait_for(re.compile("The login did not complete"), DEFAULT_WAIT)
    run.send(CTRL_C)
    code = run.finish()
    shown = run.screen.text()
    known = code == ExitCode.INTERRUPTED and "Globus could not be reached" in shown
    known = known and NETWORK_HINT in shown and "Traceback" not in shown
    as_crash_path(figures, known)
    assert known, f"exit {code}\n{shown}"
