"""The wizard checks each answer where it is asked, names its own questions, and can go on
without Globus. Typed into as a person would, against the Globus stand-in and moto."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliRunner
from tests.fixtures.wizard import CLEAR_LINE, CTRL_C, ENTER, LOGIN_URL, WizardWorld, answer

# A command-line flag (--endpoint-url, --access-key-id...) in what the wizard shows.
CLI_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _rows(home: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "aws-copy-pt.db") as db:
        return db.execute(query).fetchall()


def _flags_in(text: str) -> list[str]:
    return CLI_FLAG.findall(text)


def test_a_malformed_client_id_is_refused_at_its_prompt_and_asked_again(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    run = world.run([answer(""), answer("paste", "0b1c2d3e-not-a-uuid")])
    run.wait_for(r"is not a valid Globus client id")
    run.send(answer(CLEAR_LINE + world.standin.client_id))
    run.log_in(world.standin, world.alice)
    run.wait_for(r"Logged in to Globus as alice@example.org")
    run.send(CTRL_C)  # at the credentials screen

    assert run.finish() == ExitCode.INTERRUPTED
    shown = run.screen.text()
    assert "✗ '0b1c2d3e-not-a-uuid' is not a valid Globus client id (a UUID)" in shown
    assert shown.count("Open this URL in any browser") == 1  # no login with the bad id
    assert _flags_in(shown) == []


def test_try_again_after_a_refused_login_asks_the_client_id_again(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    run = world.run([answer(""), answer("paste", world.standin.client_id)])
    run.wait_for(LOGIN_URL)
    run.send(answer("not-the-code"))  # Globus refuses the code
    run.wait_for(r"Globus did not accept the authorization code")
    mark = run.mark()
    run.send(answer("Try again", ""))  # the client id is asked again, the last one offered
    run.log_in(world.standin, world.alice, after=mark)
    run.wait_for(r"Logged in to Globus as alice@example.org")
    run.send(CTRL_C)

    assert run.finish() == ExitCode.INTERRUPTED
    shown = run.screen.text()
    assert "✗ Globus did not accept the authorization code" in shown
    assert "run `aws-copy-pt login`" not in shown  # the wizard offers what to do next
    assert run.prompts.text().count("? Globus client id") >= 2
    assert shown.count("Open this URL in any browser") == 2
    assert _rows(world.home, "SELECT value FROM settings WHERE key = 'globus.client_id'") == [
        (world.standin.client_id,)
    ]


def test_a_malformed_access_key_id_is_refused_before_the_secret_is_asked(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="login")
    account = world.accounts.staging
    run = world.run(answer("access key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"))  # a secret, pasted
    run.wait_for(r"does not look like an AWS access key id")
    run.send(answer(account.access_key_id))
    run.wait_for_question(r"Secret access key")
    run.send(CTRL_C)

    assert run.finish() == ExitCode.INTERRUPTED
    shown, prompts = run.screen.text(), run.prompts.text()
    assert "✗ the access key id does not look like an AWS access key id" in shown
    refused_at = prompts.index("Access key id")
    assert prompts.count("Secret access key") >= 1
    assert prompts.index("Secret access key") > refused_at
    assert "wJalrXUtnFEMI" not in shown  # the refused answer is not shown again
    assert _flags_in(shown) == []
    assert _rows(world.home, "SELECT count(*) FROM aws_credentials") == [(0,)]


def test_an_invalid_endpoint_url_is_refused_at_its_prompt_before_the_bucket_name(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="collection")
    run = world.run(answer("Register", "compatible", CLEAR_LINE + "minio.lab:9000"))
    run.wait_for(r"is not an http\(s\) URL")
    run.send(answer(CLEAR_LINE + world.s3.endpoint_url, world.dest_bucket))
    run.wait_for_question(r"Write a tiny test object")
    run.send("n")
    run.wait_for_question(r"Where in s3://")
    run.send(CTRL_C)

    assert run.finish() == ExitCode.INTERRUPTED
    shown, prompts = run.screen.text(), run.prompts.text()
    assert "✗ the endpoint URL 'minio.lab:9000' is not an http(s) URL" in shown
    assert "→ give the whole URL with http:// or https://, e.g. https://" in shown
    assert prompts.count("Name of the destination bucket") >= 1
    assert "minio.lab:9000" not in prompts[prompts.index("Name of the destination bucket") :]
    assert _flags_in(shown) == []
    assert _rows(world.home, "SELECT name, endpoint_url FROM buckets WHERE id = 2") == [
        (world.dest_bucket, world.s3.endpoint_url)
    ]


def test_the_wizard_refuses_a_bucket_name_exactly_as_bucket_add_does(
    cli: CliRunner,
    wizard_world: WizardWorld,  # in this order: the world's environment wins
) -> None:
    world = wizard_world
    world.set_up(through="collection")
    run = world.run(answer("Register", "Amazon", "Partner_Archive"))  # capitals: not on AWS
    run.wait_for(r"is not a valid bucket name")
    run.send(CTRL_C)

    assert run.finish() == ExitCode.INTERRUPTED
    shown = run.screen.text()
    assert "✗ 'Partner_Archive' is not a valid bucket name" in shown
    assert "Looking for Partner_Archive" not in shown  # refused before any request
    refused = cli("bucket", "add", "Partner_Archive", "--credentials", "aws-keys", "--no-check")
    refused.fails(ExitCode.USAGE, says="'Partner_Archive' is not a valid bucket name")
    hint = shown.split("not a valid bucket name", 1)[1].splitlines()[1].strip("→ ")
    assert hint in refused.stderr


def test_skipping_globus_sets_up_aws_the_buckets_and_the_policy_and_says_what_comes_next(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    run = world.run(
        [
            answer(""),  # welcome
            answer("Skip"),  # no Globus app yet
            world.typed_keys(),
            answer("Register", "compatible", world.s3.endpoint_url, world.staging_bucket),
            answer("Register", "", ""),  # destination, at the staging endpoint
            answer(world.dest_bucket),
            "n",  # no write test
        ]
    )

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Globus is skipped for now" in shown
    assert "Step 3 of 6: Staging collection" in shown
    assert "Without Globus, register the staging bucket now" in shown
    assert f"{world.dest_bucket}: reachable" in shown
    assert "AWS and the buckets are set up; the Globus part comes next." in shown
    home = f"--home {world.home}"  # the commands work as typed: this program, this home
    assert f"{home} login --client-id CLIENT_ID" in shown
    assert f"{home} collection add COLLECTION_ID --bucket {world.staging_bucket}" in shown
    assert "Step 5 of 6" not in shown  # no transfer is asked without Globus
    assert _rows(world.home, "SELECT name FROM buckets ORDER BY id") == [
        (world.staging_bucket,),
        (world.dest_bucket,),
    ]
    assert _rows(world.home, "SELECT count(*) FROM collections") == [(0,)]


def test_offline_a_failed_login_offers_to_skip_globus(wizard_world: WizardWorld) -> None:
    world = wizard_world
    world.standin.stop()  # Globus cannot be reached any more
    run = world.run([answer(""), answer("paste", world.standin.client_id)])
    run.wait_for(LOGIN_URL)
    run.send("any-code" + ENTER)
    run.wait_for(r"✗ ")
    run.send(answer("Skip"))
    run.wait_for(r"Globus is skipped for now")
    run.send(CTRL_C)

    assert run.finish() == ExitCode.INTERRUPTED
    assert "Which AWS credentials" in run.prompts.text()
