"""The bad-input table: every row through the CLI, each refused (or handled) with a message that
names the cause and the next step, no traceback, and nothing lost.

Rows are functions registered with their expectation (``@TABLE.row(name, exit, cause, next)``);
``bad_input.judge`` runs and judges every row the same way. The files Globus delivers have their
own table (test_bad_input_delivered.py), and so has the home itself (test_bad_input_home.py).
"""

from __future__ import annotations

import uuid

import pytest

from aws_copy_pt.errors import ExitCode
from tests.reliability.bad_input import (
    Bench,
    Case,
    Table,
    Trial,
    judge,
)
from tests.reliability.figures import Figures
from tests.reliability.world import World
from tests.support.faultproxy import Answer, matching

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
TABLE = Table()


# --- Globus task ids, collections and destinations -------------------------------------------


@TABLE.row("malformed task id", ExitCode.USAGE, "not a valid Globus task id", "aws-copy-pt tasks")
def _malformed_task(bench: Bench) -> Trial:
    return Trial(("watch", "3a9c-not-a-uuid", "--to", bench.w.dest_bucket))


@TABLE.row("unknown task id", ExitCode.REMOTE, "Globus has no task", "aws-copy-pt tasks")
def _unknown_task(bench: Bench) -> Trial:
    return Trial(("watch", str(uuid.uuid4()), "--to", bench.w.dest_bucket))


@TABLE.row("someone else's task", ExitCode.REMOTE, "403", "tasks of another Globus identity")
def _foreign_task(bench: Bench) -> Trial:
    world = bench.w
    other = world.standin.add_user("someone@elsewhere.org")
    task = world.standin.add_task(
        other, world.source, world.staging_collection, [("/a", f"/{world.staging_bucket}/in/a")]
    )
    return Trial(("watch", task, "--to", world.dest_bucket))


@TABLE.row(
    "task into an unregistered collection",
    ExitCode.CONFIG,
    "not a registered staging collection",
    "aws-copy-pt collection add",
)
def _unregistered_collection(bench: Bench) -> Trial:
    world = bench.w
    other = world.standin.add_collection("not registered", owner=world.user)
    task = world.standin.add_task(world.user, world.source, other, [("/a", "/x/a")])
    return Trial(("watch", task, "--to", world.dest_bucket))


@TABLE.row(
    "task watched twice", ExitCode.CONFIG, "is already watched as transfer", "transfers show"
)
def _watched_twice(bench: Bench) -> Trial:
    world = bench.w
    task = world.add_task({"a.dat": 1})
    world.watch(task, "first")
    return Trial(("watch", task, "--to", f"{world.dest_bucket}/second"))


@TABLE.row("unregistered destination bucket", ExitCode.CONFIG, "is not registered", "bucket add")
def _unknown_destination(bench: Bench) -> Trial:
    return Trial(("watch", bench.w.add_task({"a.dat": 1}), "--to", "never-registered/x"))


@TABLE.row(
    "copy onto the staging location itself",
    ExitCode.USAGE,
    "is that place itself",
    "give another bucket",
)
def _onto_itself(bench: Bench) -> Trial:
    world = bench.w
    return Trial(("watch", world.add_task({"a.dat": 1}), "--to", f"{world.staging_bucket}/in"))


@TABLE.row("unknown --on-conflict", ExitCode.USAGE, "'sometimes' is not one of", "--help")
def _bad_choice(bench: Bench) -> Trial:
    world = bench.w
    task = world.add_task({"a.dat": 1})
    return Trial(("watch", task, "--to", world.dest_bucket, "--on-conflict", "sometimes"))


@TABLE.row(
    "malformed collection id", ExitCode.USAGE, "not a valid Globus collection id", "app.globus"
)
def _malformed_collection(bench: Bench) -> Trial:
    return Trial(("collection", "add", "staging-one", "--bucket", bench.w.staging_bucket))


@TABLE.row(
    "collection Globus does not know", ExitCode.REMOTE, "Globus has no collection", "check the id"
)
def _unknown_collection(bench: Bench) -> Trial:
    return Trial(("collection", "add", str(uuid.uuid4()), "--bucket", bench.w.staging_bucket))


# --- buckets and credentials ---------------------------------------------------------------


def _bucket_add(world: World, bucket: str, *extra: str) -> tuple[str, ...]:
    endpoint = ("--endpoint-url", world.proxy.endpoint_url)
    return ("bucket", "add", bucket, "--credentials", "lab", *endpoint, *extra)


@TABLE.row("bucket that does not exist", ExitCode.REMOTE, "does not exist", "check the spelling")
def _missing_bucket(bench: Bench) -> Trial:
    return Trial(_bucket_add(bench.w, f"no-such-bucket-{uuid.uuid4().hex[:12]}"))


def _foreign_bucket(world: World) -> str:
    name = f"rel-other-{uuid.uuid4().hex[:12]}"
    return world.s3.make_bucket(world.accounts.destination, name, "eu-west-1")


@TABLE.row(
    "bucket the credential may not reach", ExitCode.REMOTE, "access denied", "policy --bucket"
)
def _denied_bucket(bench: Bench) -> Trial:
    world = bench.w
    bucket = _foreign_bucket(world)
    # As AWS answers: 403 with the bucket's region (moto would grant it, see s3server.py).
    denied = Answer(403, [("x-amz-bucket-region", "eu-west-1")], b"")
    world.proxy.rewrite(matching("HeadBucket", bucket=bucket), lambda _r, _a: denied)
    return Trial(_bucket_add(world, bucket))


@TABLE.row(
    "wrong region given", ExitCode.USAGE, "is in eu-west-1, not in us-west-2", "--region auto"
)
def _wrong_region(bench: Bench) -> Trial:
    return Trial(_bucket_add(bench.w, _foreign_bucket(bench.w), "--region", "us-west-2"))


@TABLE.row(
    "KMS alias for a cross-account key",
    ExitCode.USAGE,
    "KMS alias 'alias/archive' refused",
    "arn:aws:kms:REGION:ACCOUNT:key/",
)
def _kms_alias(bench: Bench) -> Trial:
    # On AWS endpoints only: other stores name their keys as they like.
    kms = ("--sse", "aws:kms", "--sse-kms-key-id", "alias/archive")
    return Trial(("bucket", "add", "partner-archive", "--credentials", "lab", *kms))


@TABLE.row(
    "s3:// URL for a bucket name", ExitCode.USAGE, "not a valid bucket name", "not an s3:// URL"
)
def _url_for_bucket(bench: Bench) -> Trial:
    return Trial(("bucket", "add", "s3://partner-archive/run42", "--credentials", "lab"))


@TABLE.row(
    "unknown credential", ExitCode.CONFIG, "no AWS credential named 'nobody'", "aws add nobody"
)
def _unknown_credential(bench: Bench) -> Trial:
    return Trial(("bucket", "add", "partner-archive", "--credentials", "nobody"))


@TABLE.row("undefined AWS profile", ExitCode.CONFIG, "profile 'nope'", "aws configure --profile")
def _undefined_profile(bench: Bench) -> Trial:
    return Trial(("aws", "add", "lab2", "--profile", "nope"))


@TABLE.row(
    "copy between unregistered buckets",
    ExitCode.CONFIG,
    "bucket 'unregistered-a' is not registered",
    "bucket add",
)
def _direct_unregistered(bench: Bench) -> Trial:
    return Trial(("copy", "unregistered-a/x", f"{bench.w.dest_bucket}/y", "--dry-run"))


# --- secrets ------------------------------------------------------------------------------------


@TABLE.row(
    "secret access key in argv",
    ExitCode.USAGE,
    "refusing --secret-access-key on the command line",
    "--secret-stdin",
    must_not=(SECRET,),
)
def _secret_in_argv(bench: Bench) -> Trial:
    return Trial(
        ("aws", "add", "lab2", "--access-key-id", "AKIAEXAMPLE", "--secret-access-key", SECRET)
    )


@TABLE.row(
    "session token in argv",
    ExitCode.USAGE,
    "refusing --session-token on the command line",
    "environment variable",
    must_not=(SECRET,),
)
def _token_in_argv(bench: Bench) -> Trial:
    return Trial(
        ("aws", "add", "lab2", "--access-key-id", "AKIAEXAMPLE", "--session-token", SECRET)
    )


@TABLE.row(
    "SMTP password in argv",
    ExitCode.USAGE,
    "No such option '--smtp-password'",
    "--password-stdin",
    must_not=(SECRET,),
)
def _smtp_password_in_argv(bench: Bench) -> Trial:
    args = ("notify", "add", "ops", "--email", "ops@example.org", "--smtp-password", SECRET)
    return Trial(args)


# --- transfers ---------------------------------------------------------------------------------


@TABLE.row("unknown transfer", ExitCode.CONFIG, "there is no transfer 999", "aws-copy-pt status")
def _unknown_transfer(bench: Bench) -> Trial:
    return Trial(("transfers", "retry", "999"))


@TABLE.row("malformed transfer id", ExitCode.USAGE, "'abc' is not a valid integer", "--help")
def _malformed_transfer(bench: Bench) -> Trial:
    return Trial(("transfers", "show", "abc"))


@TABLE.row("no usable Globus login", ExitCode.NEEDS_LOGIN, "Globus", "aws-copy-pt login")
def _no_login(bench: Bench) -> Trial:
    world = bench.w
    world.watch(world.add_task({"a.dat": 1}, script=["ACTIVE", "SUCCEEDED"]), "x")
    world.standin.revoke_all(world.user)
    world.standin.expire_access_tokens(world.user)
    return Trial(("run", "--once"), keeps=lambda: _state_is(world, 1, "NEEDS_LOGIN"))


def _state_is(world: World, transfer_id: int, state: str) -> list[str]:
    found = world.state(transfer_id)
    return [] if found == state else [f"transfer {transfer_id} is {found}, not {state}"]


@pytest.mark.heavy
@pytest.mark.parametrize("case", TABLE.cases, ids=TABLE.ids)
def test_bad_input_to_a_registered_home_is_refused_clearly_and_loses_nothing(
    case: Case, bench: Bench, figures: Figures
) -> None:
    judge(case, bench, figures)
