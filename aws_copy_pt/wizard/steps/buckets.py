"""Registering a bucket by asking where it is and its name; policies and the write test.

Shared by the staging and destination screens and the bucket menu. The region is never asked:
the bucket service finds it with HeadBucket, which also proves the credential reaches it. The
endpoint URL and the name are checked at their own prompts, with the same rules as
``bucket add`` (``core.bucket_settings``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Literal

from aws_copy_pt.core.bucket_settings import BucketRequest, check_bucket_name, check_endpoint_url
from aws_copy_pt.core.policy import PolicySet
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.errors import S3AccessDenied, S3Unreachable
from aws_copy_pt.services.setup.buckets import BucketCheck, BucketInfo, add_bucket, check_bucket
from aws_copy_pt.services.setup.policies import policies_for
from aws_copy_pt.wizard.context import Wizard
from aws_copy_pt.wizard.ui import BACK, Option, walk

Role = Literal["staging", "destination"]
AWS = ""  # the "endpoint" of Amazon S3 itself: no URL
UNREACHABLE_HINT = "check the network and the endpoint URL (an empty name goes back to it)"


@dataclass
class _Answers:
    endpoint: str
    name: str = ""
    registered: str | None = None


def register_bucket(wizard: Wizard, *, role: Role, credential: str) -> str | None:
    """Ask where the bucket is and its name, register it (checked); its name, or None (back)."""
    answers = _Answers(endpoint=wizard.picks.staging_endpoint or AWS)

    def where() -> bool:
        endpoint = _ask_where(wizard, answers.endpoint)
        answers.endpoint = endpoint if endpoint is not None else answers.endpoint
        return endpoint is not None

    def name() -> bool:
        while answers.registered is None:
            typed = wizard.ui.text(f"Name of the {role} bucket", default=answers.name)
            if typed is None:
                return False
            answers.name = typed
            endpoint = answers.endpoint or None
            if wizard.ui.accepts(partial(check_bucket_name, typed, endpoint)):
                answers.registered = _try_register(wizard, role, typed, credential, endpoint)
        return True

    return answers.registered if walk([where, name]) else None


def _ask_where(wizard: Wizard, current: str) -> str | None:
    """The endpoint URL ('' for Amazon S3), or None for back."""
    kind = wizard.ui.select(
        "Where is the bucket?",
        [
            Option("Amazon S3", AWS),
            Option("An S3-compatible store at a URL (MinIO, Ceph, …)", "url"),
        ],
        default=AWS if not current else "url",
    )
    if kind is BACK:
        return None
    if kind == AWS:
        return AWS
    while True:  # checked here, before the bucket name is asked
        typed = wizard.ui.text(
            "Endpoint URL", default=current, instruction="(https://…; empty: back)"
        )
        if typed is None:
            return None
        if wizard.ui.accepts(partial(check_endpoint_url, typed, asked_as="the endpoint URL")):
            return typed.rstrip("/")
        current = typed


def _try_register(
    wizard: Wizard, role: Role, name: str, credential: str, endpoint: str | None
) -> str | None:
    request = BucketRequest(name=name, credential=credential, endpoint_url=endpoint)
    factory = wizard.factory()

    def checked() -> BucketInfo:
        with wizard.app.session() as session:
            return add_bucket(session, request, factory=factory)

    wizard.ui.say(f"Looking for {name}…")
    try:
        info = checked()
    except S3AccessDenied as exc:
        if role == "staging":
            wizard.ui.error(exc)
            return None
        wizard.ui.error(exc, hint=False)  # the next question offers the remedy
        return _register_unreachable(wizard, request)
    except S3Unreachable as exc:  # its hint names the command-line flag
        wizard.ui.error(S3Unreachable(exc.message, hint=UNREACHABLE_HINT))
        return None
    except AwsCopyPtError as exc:
        wizard.ui.error(exc)
        return None
    wizard.ui.ok(f"{info.name}: reachable, region {info.region}.")
    if role == "staging":
        wizard.picks.staging_endpoint = info.endpoint_url
    return info.name


def _register_unreachable(wizard: Wizard, request: BucketRequest) -> str | None:
    """Access is missing: register it unchecked and show the owner's policy, if the user wants."""
    choice = wizard.ui.select(
        f"aws-copy-pt cannot reach {request.name} yet.",
        [
            Option("Register it anyway and show the policy its owner must attach", True),
            Option("Type another name", False),
        ],
        back=False,
    )
    if not choice:
        return None

    def offline() -> BucketInfo:
        with wizard.app.session() as session:
            return add_bucket(session, request, factory=None)

    info = wizard.attempt(offline)
    if info is None:
        return None
    wizard.ui.ok(f"Registered {info.name} (not checked yet).")
    show_policy(wizard, info.name)
    return info.name


def show_policy(wizard: Wizard, destination: str) -> None:
    """The bucket policy the destination's owner must attach for our copies."""
    staging = wizard.picks.staging_bucket if wizard.picks.staging_bucket != destination else None

    def build() -> PolicySet:
        with wizard.app.session() as session:
            return policies_for(session, destination, staging=staging)

    policies = wizard.attempt(build)
    if policies is None:
        return
    ui = wizard.ui
    if policies.bucket_policy is not None:
        ui.say(f"Send this bucket policy to the owner of {destination}:")
        ui.verbatim(json.dumps(policies.bucket_policy.document(), indent=2))
    ui.say(f"All policies, explained: aws-copy-pt policy --bucket {destination}")
    ui.say(f"Once attached, check access: aws-copy-pt bucket check {destination}")


def offer_write_test(wizard: Wizard, name: str) -> None:
    """Opt-in: write a tiny marker with the copy settings and delete it again."""
    if not wizard.ui.confirm(
        "Write a tiny test object to prove copies will be accepted? (deleted right after)"
    ):
        return
    factory = wizard.factory()

    def write() -> BucketCheck:
        with wizard.app.session() as session:
            return check_bucket(session, factory, name, write_test=True)

    try:
        result = write()
    except S3AccessDenied as exc:
        wizard.ui.error(exc)
        show_policy(wizard, name)
        return
    except AwsCopyPtError as exc:
        wizard.ui.error(exc)
        return
    if result.write_test == "passed":
        wizard.ui.ok("Write test passed: the marker was written and deleted.")
    else:
        wizard.ui.warn(
            f"Write test passed, but s3://{name}/{result.marker_key} could not be deleted; "
            "ask the bucket owner to delete it."
        )
