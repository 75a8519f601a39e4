"""`login`, `logout` and `whoami` against the Globus stand-in, run as a user would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn, User
from tests.fixtures.cli import CliRunner, installed_script, isolated_env
from tests.fixtures.globus_world import GlobusWorld, build_world

URL = re.compile(r"^\s+(http://\S+/v2/oauth2/authorize\?\S+)$")


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.extra_env = {"AWS_COPY_PT_GLOBUS_CLIENT_ID": globus_standin.client_id}
    yield world
    world.db.close()


def _interactive_login(
    world: GlobusWorld, *args: str, env: dict[str, str] | None = None, user: User | None = None
) -> tuple[int, str, str, str]:
    """Run `aws-copy-pt login` as a process; consent at the stand-in with the URL it prints.

    Returns (exit code, stdout, stderr, the authorize URL). The code is derived from the URL,
    so PKCE, redirect URI and scopes are checked by the stand-in as Globus Auth would.
    """
    proc = subprocess.Popen(
        [installed_script(), "login", *args],
        env=isolated_env(world.home, {**world.env, **(env or {})}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stderr and proc.stdout
    seen, url = [], ""
    for line in proc.stderr:  # blocks until the URL is printed: no timing involved
        seen.append(line)
        found = URL.match(line.rstrip("\n"))
        if found:
            url = found.group(1)
            break
    assert url, "".join(seen)
    code = world.standin.issue_auth_code(user or world.user, authorize_url=url)
    proc.stdin.write(code + "\n")
    proc.stdin.close()
    stdout, rest = proc.stdout.read(), proc.stderr.read()
    return proc.wait(timeout=60), stdout, "".join(seen) + rest, url


def test_copy_paste_login_stores_refresh_tokens_and_the_identity(world: GlobusWorld) -> None:
    code, stdout, stderr, url = _interactive_login(world, "--no-browser")

    assert code == 0, stderr
    assert "Logged in to Globus as alice@example.org (Alice Liddell)." in stdout
    assert "Paste the authorization code" in stderr
    assert "access_type=offline" in url  # refresh tokens were asked for
    for scope in ("openid", "profile", "email", "transfer.api.globus.org%3Aall"):
        assert scope in url
    world.point_sdk()
    assert world.stored_refresh_token()
    assert world.settings_json("globus.identity") == {
        "id": world.user.id,
        "username": "alice@example.org",
        "name": "Alice Liddell",
        "email": "alice@example.org",
        "organization": "Stand-in University",
    }


def test_ssh_session_falls_back_to_the_copy_paste_login(world: GlobusWorld) -> None:
    env = {"SSH_CONNECTION": "10.0.0.1 5555 10.0.0.2 22", "DISPLAY": ":0"}

    code, _, stderr, _ = _interactive_login(world, env=env)

    assert code == 0, stderr
    assert "Using the copy-paste login" in stderr
    assert "remote session" in stderr.lower() or "ssh" in stderr.lower()


def test_no_display_falls_back_to_the_copy_paste_login(world: GlobusWorld) -> None:
    code, _, stderr, _ = _interactive_login(world)  # isolated_env has no DISPLAY

    assert code == 0, stderr
    assert "Using the copy-paste login: no DISPLAY" in stderr


FAKE_BROWSER = """#!{python}
# A "browser": the user consents at once and Globus redirects to the local server with a code.
import sys, urllib.parse, urllib.request
query = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)
redirect = query["redirect_uri"][0] + "?code={code}&state=" + query["state"][0]
urllib.request.urlopen(redirect).read()
"""


def test_browser_login_catches_the_redirect_on_localhost(
    world: GlobusWorld, tmp_path: Path
) -> None:
    browser = tmp_path / "browser"
    code = world.standin.issue_auth_code(world.user)
    browser.write_text(FAKE_BROWSER.format(python=sys.executable, code=code))
    browser.chmod(0o700)
    env = isolated_env(world.home, {**world.env, "BROWSER": str(browser), "DISPLAY": ":0"})

    proc = subprocess.run(
        [installed_script(), "login"], env=env, capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 0, proc.stderr
    assert "Opening a browser for the Globus login" in proc.stderr
    assert "Logged in to Globus as alice@example.org" in proc.stdout
    world.point_sdk()
    assert world.stored_refresh_token()


def test_login_asks_data_access_consent_for_registered_mapped_collections(
    world: GlobusWorld,
) -> None:
    world.register_staging()
    extra = "5e6f7a8b-0000-4000-8000-000000000000"

    code, stdout, stderr, url = _interactive_login(world, "--no-browser", "--data-access", extra)

    assert code == 0, stderr
    for collection in (world.staging, extra):
        assert f"{collection}%2Fdata_access" in url
    assert world.staging in stdout


def test_logging_in_as_someone_else_asks_to_log_out_first(world: GlobusWorld) -> None:
    world.login()
    bob = world.standin.add_user("bob@example.org")

    code, _, stderr, _ = _interactive_login(world, "--no-browser", user=bob)

    assert code == ExitCode.CONFIG, stderr
    assert "different Globus identity" in stderr and "aws-copy-pt logout" in stderr
    world.point_sdk()
    assert world.stored_refresh_token()  # Alice's login is kept


def test_login_reads_no_code_from_an_empty_stdin_and_says_what_to_do(
    cli_subprocess: CliRunner, world: GlobusWorld
) -> None:
    result = cli_subprocess("login", "--no-browser", env=world.env, input="")

    result.fails(ExitCode.NEEDS_LOGIN, says="no authorization code was entered")
    assert "Open this URL" in result.stderr


def test_login_with_a_wrong_code_is_refused(cli_subprocess: CliRunner, world: GlobusWorld) -> None:
    result = cli_subprocess("login", "--no-browser", env=world.env, input="not-a-code\n")

    result.fails(ExitCode.NEEDS_LOGIN, says="Globus did not accept the authorization code")
    assert "invalid_grant" in result.stderr


def test_login_without_a_client_id_explains_how_to_register_one(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli("login", env=world.standin.env())

    result.fails(ExitCode.CONFIG, says="no Globus client id is configured")
    assert "https://app.globus.org/settings/developers" in result.stderr
    assert "--client-id" in result.stderr


def test_malformed_client_id_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("login", "--client-id", "my-app", env=world.standin.env())

    result.fails(ExitCode.CONFIG, says="'my-app' is not a valid Globus client id")


def test_client_id_given_at_login_is_remembered(cli: CliRunner, world: GlobusWorld) -> None:
    env = world.standin.env()
    world.login()  # stores tokens and the client id, as login does

    result = cli("--json", "whoami", "--offline", env=env).ok()

    assert json.loads(result.stdout)["client_id"] == world.standin.client_id


def test_whoami_proves_the_login_works_refreshing_an_expired_token(
    cli: CliRunner, world: GlobusWorld
) -> None:
    world.login()
    world.standin.expire_access_tokens(world.user)

    result = cli("--json", "whoami", env=world.env).ok()

    status = json.loads(result.stdout)
    assert status["verified"] is True
    assert status["identity"]["username"] == "alice@example.org"
    assert status["has_refresh_token"] is True
    paths = [(r.path, r.status) for r in world.standin.requests]
    assert ("/v2/oauth2/token", 200) in paths  # the refresh happened
    assert paths[-1] == ("/v2/oauth2/userinfo", 200)


def test_whoami_after_revocation_exits_needs_login(cli: CliRunner, world: GlobusWorld) -> None:
    world.login()
    world.standin.revoke_all(world.user)

    result = cli("whoami", env=world.env)

    result.fails(ExitCode.NEEDS_LOGIN, says="invalid_grant")
    assert "run `aws-copy-pt login` in a terminal" in result.stderr


def test_whoami_when_never_logged_in_says_so(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("whoami", env=world.env)

    assert result.exit_code == ExitCode.NEEDS_LOGIN
    assert "Not logged in to Globus" in result.stderr


def test_whoami_without_any_client_id_is_not_logged_in(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("--json", "whoami", env=world.standin.env())

    assert result.exit_code == ExitCode.NEEDS_LOGIN
    assert json.loads(result.stdout)["client_id"] is None


def test_logout_revokes_at_globus_then_deletes_locally(cli: CliRunner, world: GlobusWorld) -> None:
    world.login()
    refresh_token = world.stored_refresh_token()

    result = cli("logout", env=world.env).ok()

    assert "revoked 4 token(s) at Globus" in result.stdout
    revocations = [r for r in world.standin.requests if r.path == "/v2/oauth2/token/revoke"]
    assert len(revocations) == 4  # access + refresh, for Auth and Transfer
    from aws_copy_pt.globus import clients

    assert (
        clients.token_storage(world.db, world.standin.client_id).get_token_data_by_resource_server()
        == {}
    )
    world.point_sdk()
    import globus_sdk

    with pytest.raises(globus_sdk.AuthAPIError):  # really dead at Globus, not just forgotten
        globus_sdk.NativeAppAuthClient(client_id=world.standin.client_id).oauth2_refresh_token(
            refresh_token
        )
    cli("whoami", env=world.env).fails(ExitCode.NEEDS_LOGIN)


def test_logout_local_only_does_not_contact_globus(cli: CliRunner, world: GlobusWorld) -> None:
    world.login()

    cli("logout", "--local-only", env=world.env).ok()

    assert world.standin.requests == []


def test_logout_when_not_logged_in_is_harmless(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("logout", env=world.env).ok()

    assert "nothing to do" in result.stdout


def test_login_asks_for_globus_timers_only_while_a_follow_rule_reads_a_timer(
    world: GlobusWorld,
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from aws_copy_pt.db.models import Bucket, FollowRule
    from aws_copy_pt.globus import clients
    from tests.fixtures.globus_world import DEST_BUCKET

    timers_scope = f"{clients.TIMERS_RESOURCE_SERVER}%2Ftimer"
    code, _, stderr, url = _interactive_login(world, "--no-browser")
    assert code == 0, stderr
    assert timers_scope not in url
    collection = world.register_staging()
    with world.db.session() as session:
        dest = session.scalar(select(Bucket).where(Bucket.name == DEST_BUCKET))
        assert dest is not None
        session.add(
            FollowRule(
                name="nightly",
                collection_id=collection.id,
                timer_id="1b2c3d4e-0000-4000-8000-000000000001",
                dest_bucket_id=dest.id,
                since=datetime.now(UTC),
            )
        )

    code, stdout, stderr, url = _interactive_login(world, "--no-browser")

    assert code == 0, stderr
    assert timers_scope in url
    assert "Globus Timers allowed" in stdout
    stored = clients.token_storage(world.db, world.standin.client_id)
    assert stored.get_token_data(clients.TIMERS_RESOURCE_SERVER) is not None
