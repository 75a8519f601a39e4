"""Run the wizard in tmux as a person would, and keep what the screen shows at each step.

    .venv/bin/python tests/e2e/wizard_tmux.py [--out DIR]

Starts the Globus stand-in (in this process) and a moto S3 server, prepares Alice's world (an
AWS profile for the staging account, a staging and a destination bucket, a Globus task whose
files are already in staging), then runs the installed ``aws-copy-pt --home <tmp>`` in a
detached tmux session on a private socket. It types into it with ``send-keys`` and saves
``capture-pane`` text after each step as DIR/NN-name.txt: a first run interrupted with Ctrl-C
at the staging screen, a second run that resumes there and goes on to a transfer copied in the
foreground (with one refused bucket name on the way), then a third run showing the main menu.
Exits 1 when a screen never shows what it should.

Not a pytest module (its name does not start with ``test_``): it needs tmux and takes ~20 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aws_copy_pt.sandbox.globus_standin import FileSpec, GlobusStandIn, User
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts, unique_bucket_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "aws-copy-pt"
SOCKET = f"acp-wizard-{os.getpid()}"
WIDTH, HEIGHT = 100, 40
WAIT_SECONDS = 45.0
LOGIN_URL = re.compile(r"(http://\S+/v2/oauth2/authorize\?\S+)")


class Terminal:
    """One tmux session running a command, driven by keys and read by screen captures."""

    def __init__(self, name: str, command: str, out: Path) -> None:
        self.target = name
        self.out = out
        self._tmux("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), command)

    @staticmethod
    def _tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self, *, joined: bool = False) -> str:
        flags = ["-J"] if joined else []
        return self._tmux("capture-pane", "-p", *flags, "-t", self.target)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """Poll the screen until ``pattern`` shows (a person watching the terminal)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = compiled.search(self.screen(joined=True))
            if found:
                return found
            time.sleep(0.2)
        raise SystemExit(f"never saw {pattern!r}; the screen was:\n{self.screen()}")

    def type(self, text: str, *, enter: bool = True) -> None:
        if text:
            self._tmux("send-keys", "-t", self.target, "-l", text)
        if enter:
            self._tmux("send-keys", "-t", self.target, "Enter")

    def key(self, name: str) -> None:
        self._tmux("send-keys", "-t", self.target, name)

    def save(self, step: str) -> None:
        text = self.screen().rstrip() + "\n"
        (self.out / f"{step}.txt").write_text(text)
        print(f"saved {step}")


@dataclass(frozen=True)
class World:
    alice: User
    staging_bucket: str
    dest_bucket: str
    user_home: Path


def prepare(standin: GlobusStandIn, s3: MotoS3Server, work: Path) -> World:
    """Alice's Globus world, the buckets, an AWS profile; returns the facts the run needs."""
    accounts: SandboxAccounts = s3.accounts()
    staging_bucket = s3.make_bucket(accounts.staging, unique_bucket_name("staging"))
    dest_bucket = s3.make_bucket(accounts.destination, unique_bucket_name("archive"))
    staging_s3 = s3.client(accounts.staging)
    for i in range(3):
        staging_s3.put_object(Bucket=staging_bucket, Key=f"run1/f{i}.bin", Body=b"x" * 4096)
    alice = standin.add_user("alice@example.org", name="Alice Liddell")
    source = standin.add_collection("Instrument data", owner=alice)
    staging = standin.add_collection("S3 staging", owner=alice)
    files = [
        FileSpec(f"/data/f{i}.bin", f"/{staging_bucket}/run1/f{i}.bin", 4096) for i in range(3)
    ]
    standin.add_task(alice, source, staging, files, script=["ACTIVE", "SUCCEEDED"], label="run 1")
    user_home = work / "user-home"
    (user_home / ".aws").mkdir(parents=True)
    account = accounts.staging
    (user_home / ".aws" / "credentials").write_text(
        "[staging]\n"
        f"aws_access_key_id = {account.access_key_id}\n"
        f"aws_secret_access_key = {account.secret_access_key}\n"
        f"aws_session_token = {account.session_token}\n"
    )
    return World(alice, staging_bucket, dest_bucket, user_home)


def launcher(work: Path, world: World, standin: GlobusStandIn, s3: MotoS3Server) -> str:
    """A shell script that runs aws-copy-pt like a user's login shell would, then waits."""
    env = {
        "HOME": str(world.user_home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ENDPOINT_URL_STS": s3.endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        **standin.env(),
    }
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    script = work / "run.sh"
    home = work / "acp-home"
    script.write_text(
        exports
        + f"{shlex.quote(str(SCRIPT))} --home {shlex.quote(str(home))}\n"
        + 'echo "[aws-copy-pt exited with status $?]"\n'
        + "exec sleep 600\n"
    )
    return f"env -i bash {shlex.quote(str(script))}"


def first_run(term: Terminal, standin: GlobusStandIn, world: World) -> None:
    """From nothing to the staging screen, then Ctrl-C."""
    term.wait_for(r"Ready\?")
    term.save("01-welcome")
    term.type("")
    term.wait_for(r"Do you have the client id")
    term.type("")  # yes: paste it
    term.wait_for(r"Globus client id")
    term.save("02-globus-client-id")
    term.type(standin.client_id)
    screen = term.wait_for(r"Paste the authorization code").string
    term.save("03-globus-login")
    found = LOGIN_URL.search(screen.replace("\n", ""))
    if found is None:
        raise SystemExit("no login URL on the screen")
    term.type(standin.issue_auth_code(world.alice, authorize_url=found.group(1)))
    term.wait_for(r"Which AWS credentials")
    term.save("04-aws-credentials")
    term.type("profile staging")
    term.wait_for(r"Which Globus collection")
    term.save("05-staging-collection")
    term.key("C-c")
    term.wait_for(r"exited with status 130")
    term.save("06-interrupted")


def resumed_run(term: Terminal, world: World, s3: MotoS3Server) -> None:
    """The next run resumes at the staging screen and goes on to a copied transfer."""
    term.wait_for(r"Which Globus collection")
    term.save("07-resumed")
    term.type("S3 staging")
    term.wait_for(r"Which S3 bucket")
    term.type("Register")
    term.wait_for(r"Where is the bucket")
    term.type("compatible")
    term.wait_for(r"Endpoint URL")
    term.type(s3.endpoint_url)
    term.wait_for(r"Name of the staging bucket")
    term.type(world.staging_bucket)
    term.wait_for(r"How does the collection show the bucket")
    term.save("08-staging-mapping")
    term.type("")
    term.wait_for(r"Which bucket \(in the other account\)")
    term.save("09-destination")
    term.type("Register")
    term.wait_for(r"Where is the bucket")
    term.type("")
    term.wait_for(r"Endpoint URL")
    term.type("")
    term.wait_for(r"Name of the destination bucket")
    term.type("archive-typo")
    term.wait_for(r"does not exist")
    term.save("10-destination-refused")
    term.key("C-u")
    term.type(world.dest_bucket)
    term.wait_for(r"Write a tiny test object")
    term.type("y", enter=False)
    term.wait_for(r"Where in s3://")
    term.save("11-destination-checked")
    term.type("prefix")
    term.wait_for(r"Prefix")
    term.type("run1")
    term.wait_for(r"Which Globus transfer")
    term.save("12-transfer")
    term.type("run 1")
    term.wait_for(r"How should aws-copy-pt keep watching")
    term.save("13-keep-watching")
    term.type("here")
    term.wait_for(r"exited with status 0")
    term.save("14-watched-here")


def later_run(term: Terminal) -> None:
    term.wait_for(r"What next\?")
    term.save("15-main-menu")
    term.type("Status")
    term.wait_for(r"Details of one")
    term.save("16-status")
    term.type("Quit")
    term.wait_for(r"exited with status 0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to save the screens")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="wizard-screens-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="wizard-tmux-"))
    try:
        with GlobusStandIn() as standin, MotoS3Server() as s3:
            world = prepare(standin, s3, work)
            command = launcher(work, world, standin, s3)
            first_run(Terminal("first", command, out), standin, world)
            resumed_run(Terminal("resumed", command, out), world, s3)
            later_run(Terminal("later", command, out))
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screens saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
