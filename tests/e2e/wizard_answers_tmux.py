"""Give the wizard in tmux each bad answer a newcomer gives, and keep the screens.

    .venv/bin/python -m tests.e2e.wizard_answers_tmux [--out DIR]

The same world as ``wizard_tmux.py`` (the Globus stand-in in this process, a moto server, an
AWS profile ``staging``). Three runs of the installed ``aws-copy-pt`` in fresh homes:

1. every answer wrong once, each refused at its own question: a malformed client id, a login
   code Globus refuses ("Try again" asks the client id again), a secret pasted as the access key
   id, an endpoint URL without a scheme, an ``s3://`` URL as a bucket name, a bucket name that
   AWS refuses; then Ctrl-C;
2. "skip Globus for now": credentials, both buckets, and what comes next;
3. Globus unreachable: the failed login offers to skip Globus.

Screens are saved as DIR/NN-name.txt. Exits 1 when a screen never shows what it should. Not a
pytest module: it needs tmux and takes about a minute.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from aws_copy_pt.sandbox.s3server import MotoS3Server
from tests.e2e.wizard_tmux import LOGIN_URL, SOCKET, Terminal, World, launcher, prepare

SECRET_LOOKALIKE = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"


def _log_in(term: Terminal, standin: GlobusStandIn, world: World, *, nth: int = 1) -> None:
    screen = term.wait_for(r"Open this URL" + r"[\s\S]*Open this URL" * (nth - 1)).string
    url = LOGIN_URL.findall(screen.replace("\n", ""))[-1]
    term.type(standin.issue_auth_code(world.alice, authorize_url=url))


def every_answer_wrong_once(
    term: Terminal, standin: GlobusStandIn, world: World, s3: MotoS3Server
) -> None:
    term.wait_for(r"Ready\?")
    term.type("")
    term.wait_for(r"Do you have the client id")
    term.type("")
    term.wait_for(r"\? Globus client id")
    term.type("0b1c2d3e-not-a-uuid")
    term.wait_for(r"is not a valid Globus client id")
    term.save("01-client-id-refused-at-its-prompt")
    term.key("C-u")
    term.type(standin.client_id)
    term.wait_for(r"Open this URL")
    term.type("not-the-code")
    term.wait_for(r"The login did not complete")
    term.save("02-login-refused")
    term.type("Try again")
    term.wait_for(r"Try again \(check the client id first\)\n\? Globus client id")
    term.save("03-try-again-asks-the-client-id-again")
    term.type("")
    _log_in(term, standin, world, nth=2)
    term.wait_for(r"Which AWS credentials")
    term.type("Type an access key")
    term.wait_for(r"Access key id")
    term.type(SECRET_LOOKALIKE)
    term.wait_for(r"does not look like an AWS access key id")
    term.save("04-access-key-id-refused-before-the-secret")
    account = world_account(s3)
    term.type(account[0])
    term.wait_for(r"Secret access key")
    term.type(account[1])
    term.wait_for(r"Session token")
    term.type(account[2])
    term.wait_for(r"A name for these credentials")
    term.type("")
    term.wait_for(r"Which Globus collection")
    term.type("S3 staging")
    term.wait_for(r"Which S3 bucket")
    term.type("Register")
    term.wait_for(r"Where is the bucket")
    term.type("compatible")
    term.wait_for(r"Endpoint URL")
    term.type("minio.lab:9000")
    term.wait_for(r"is not an http\(s\) URL")
    term.save("05-endpoint-url-refused-at-its-prompt")
    term.key("C-u")
    term.type(s3.endpoint_url)
    term.wait_for(r"Name of the staging bucket")
    term.type(f"s3://{world.staging_bucket}")
    term.wait_for(r"is not a valid bucket name")
    term.save("06-bucket-name-refused")
    term.key("C-u")
    term.type(world.staging_bucket)
    term.wait_for(r"How does the collection show the bucket")
    term.type("")
    term.wait_for(r"Which bucket \(in the other account\)")
    term.type("Register")
    term.wait_for(r"Where is the bucket[\s\S]*Where is the bucket")  # asked again, for it
    term.type("Amazon")
    term.wait_for(r"Name of the destination bucket")
    term.type("Partner_Archive")
    term.wait_for(r"'Partner_Archive' is not a valid bucket name")
    term.save("07-aws-bucket-name-refused-as-bucket-add-does")
    term.key("C-c")
    term.wait_for(r"exited with status 130")
    term.save("08-interrupted")


def world_account(s3: MotoS3Server) -> tuple[str, str, str]:
    account = s3.accounts().staging
    return account.access_key_id, account.secret_access_key, account.session_token or ""


def skip_globus(term: Terminal, world: World, s3: MotoS3Server) -> None:
    term.wait_for(r"Ready\?")
    term.type("")
    term.wait_for(r"Do you have the client id")
    term.save("09-no-globus-app-yet")
    term.type("Skip")
    term.wait_for(r"Which AWS credentials")
    term.save("10-globus-skipped")
    term.type("profile staging")
    term.wait_for(r"Which S3 bucket")
    term.type("Register")
    term.wait_for(r"Where is the bucket")
    term.type("compatible")
    term.wait_for(r"Endpoint URL")
    term.type(s3.endpoint_url)
    term.wait_for(r"Name of the staging bucket")
    term.type(world.staging_bucket)
    term.wait_for(r"Which bucket \(in the other account\)")
    term.type("Register")
    term.wait_for(r"Where is the bucket[\s\S]*Where is the bucket")
    term.type("")  # the staging bucket's store
    term.wait_for(r"Endpoint URL[\s\S]*Endpoint URL")
    term.type("")
    term.wait_for(r"Name of the destination bucket")
    term.type(world.dest_bucket)
    term.wait_for(r"Write a tiny test object")
    term.type("n", enter=False)
    term.wait_for(r"exited with status 0")
    term.save("11-aws-and-buckets-done-globus-next")


def offline(term: Terminal, standin: GlobusStandIn) -> None:
    term.wait_for(r"Ready\?")
    term.type("")
    term.wait_for(r"Do you have the client id")
    term.type("")
    term.wait_for(r"\? Globus client id")
    term.type(standin.client_id)
    term.wait_for(r"Open this URL")
    term.type("any-code")
    term.wait_for(r"The login did not complete")
    term.save("12-offline-login-failed")
    term.type("Skip")
    term.wait_for(r"Which AWS credentials")
    term.save("13-offline-skipped")
    term.key("C-c")
    term.wait_for(r"exited with status 130")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to save the screens")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="wizard-answers-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="wizard-answers-tmux-"))
    try:
        with GlobusStandIn() as standin, MotoS3Server() as s3:
            world = prepare(standin, s3, work)
            runs = [work / name for name in ("wrong", "skip", "offline")]
            for run in runs:
                run.mkdir()
            commands = [launcher(run, world, standin, s3) for run in runs]
            every_answer_wrong_once(Terminal("wrong", commands[0], out), standin, world, s3)
            skip_globus(Terminal("skip", commands[1], out), world, s3)
            standin.stop()  # Globus cannot be reached any more
            offline(Terminal("offline", commands[2], out), standin)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screens saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
