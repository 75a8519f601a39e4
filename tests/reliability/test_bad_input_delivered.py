"""The bad-input table, files Globus delivered: paths that must not be mapped, an empty task,
0-byte objects, keys with unicode, spaces, ``+``, ``%`` and ``#``, an object over 50 TB, a
staging object gone, a destination that refuses or already holds something else.

A pass over such input must copy what can be copied, record why the rest was not (that record -
`transfers show` - is the message judged here), and delete or overwrite nothing. Where nothing
can be done about an object (a path escaping the staging bucket, more than 50 TB), the message
names the cause and what became of the object instead of a next step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import FileSpec
from tests.reliability.bad_input import Bench, Case, Table, Trial, judge, recorded
from tests.reliability.figures import Figures
from tests.reliability.world import World
from tests.support.faultproxy import Answer, ProxyRequest, matching

TB = 10**12
TABLE = Table()


def _state_is(world: World, transfer_id: int, state: str) -> list[str]:
    found = world.state(transfer_id)
    return [] if found == state else [f"transfer {transfer_id} is {found}, not {state}"]


def _delivered(
    bench: Bench, files: dict[str, int], *paths: FileSpec, flags: tuple[str, ...] = ()
) -> int:
    world = bench.w
    return world.watch(world.add_task(files, paths=paths), "landed", *flags)


def _kept_and_landed(
    world: World, transfer_id: int, landed: dict[str, int], failed: int
) -> Callable[[], list[str]]:
    """Good objects landed intact, the refused ones are recorded failed, staging is untouched."""

    def keeps() -> list[str]:
        problems = []
        if world.dest_objects("landed") != world.expected(landed, "landed"):
            problems.append("the deliverable objects did not land intact")
        rows = world.rows(transfer_id)
        if sum(r["state"] == "failed" for r in rows) != failed:
            problems.append(f"expected {failed} failed object(s): {rows}")
        if not {f"in/{name}" for name in landed} <= world.staging_keys():
            problems.append("staging objects were deleted")
        return problems

    return keeps


def _pass_judged_by_record(bench: Bench, transfer_id: int, keeps: Callable[[], list[str]]) -> Trial:
    return Trial(("run", "--once"), keeps=keeps, output=recorded(bench.w, transfer_id))


@TABLE.row("Globus path with '..'", ExitCode.PARTIAL, "contains a '..' segment", "not copied")
def _dotdot(bench: Bench) -> Trial:
    world = bench.w
    escape = FileSpec("/src/x", f"/{world.staging_bucket}/in/../../etc/passwd", 1)
    transfer_id = _delivered(bench, {"ok.dat": 3}, escape)
    return _pass_judged_by_record(
        bench, transfer_id, _kept_and_landed(world, transfer_id, {"ok.dat": 3}, 1)
    )


@TABLE.row(
    "Globus path in another bucket", ExitCode.PARTIAL, "not in the staging bucket", "not copied"
)
def _other_bucket(bench: Bench) -> Trial:
    world = bench.w
    elsewhere = FileSpec("/src/y", "/some-other-bucket/in/y.dat", 1)
    transfer_id = _delivered(bench, {"ok.dat": 3}, elsewhere)
    return _pass_judged_by_record(
        bench, transfer_id, _kept_and_landed(world, transfer_id, {"ok.dat": 3}, 1)
    )


@TABLE.row(
    "Globus path outside the mapping root",
    ExitCode.PARTIAL,
    "outside the mapping root",
    "not copied",
)
def _outside_root(bench: Bench) -> Trial:
    world = bench.w
    outside = FileSpec("/src/z", f"/{world.staging_bucket}/elsewhere/z.dat", 1)
    transfer_id = _delivered(bench, {"ok.dat": 3}, outside)
    return _pass_judged_by_record(
        bench, transfer_id, _kept_and_landed(world, transfer_id, {"ok.dat": 3}, 1)
    )


@TABLE.row("empty transfer", ExitCode.OK, "delivered no files", "1 DONE")
def _empty(bench: Bench) -> Trial:
    transfer_id = _delivered(bench, {})
    return Trial(
        ("run", "--once"),
        keeps=lambda: _state_is(bench.w, transfer_id, "DONE"),
        output=recorded(bench.w, transfer_id),
    )


ODD = {
    "zero.bin": 0,
    "sub dir/b+c%d#e.dat": 70,
    "ünïcødé/データ.txt": 12,
    "sp ace/%2F?&=;.bin": 9,
}


@TABLE.row(
    "0-byte objects and keys with unicode, spaces, +, %, #", ExitCode.OK, "1 DONE", "verified"
)
def _odd_keys(bench: Bench) -> Trial:
    world = bench.w
    transfer_id = _delivered(bench, ODD)
    return Trial(
        ("run", "--once"),
        keeps=_kept_and_landed(world, transfer_id, ODD, 0),
        output=recorded(world, transfer_id),
    )


def _sixty_tb(request: ProxyRequest, answer: Answer) -> Answer:
    """The staging side reports in/huge.bin as 60 TB (listings and HEADs)."""
    size = str(60 * TB)
    if request.operation == "HeadObject":
        if request.key != "in/huge.bin":
            return answer
        headers = [(k, size if k.lower() == "content-length" else v) for k, v in answer.headers]
        return Answer(answer.status, headers, answer.body)
    body = re.sub(
        rb"(<Key>in/huge\.bin</Key>.*?<Size>)\d+(</Size>)",
        rb"\g<1>" + size.encode() + rb"\g<2>",
        answer.body,
        flags=re.S,
    )
    return Answer(answer.status, answer.headers, body)


@TABLE.row("object over 50 TB", ExitCode.PARTIAL, "it is 60.0 TB", "S3 objects cannot exceed 50 TB")
def _huge(bench: Bench) -> Trial:
    world = bench.w
    world.proxy.rewrite(
        matching(("ListObjectsV2", "HeadObject"), bucket=world.staging_bucket), _sixty_tb
    )
    transfer_id = _delivered(bench, {"huge.bin": 10, "ok.dat": 3})
    return _pass_judged_by_record(
        bench, transfer_id, _kept_and_landed(world, transfer_id, {"ok.dat": 3}, 1)
    )


@TABLE.row(
    "staging object gone before the copy",
    ExitCode.PARTIAL,
    "is gone from staging",
    "transfers retry",
)
def _gone(bench: Bench) -> Trial:
    world = bench.w
    transfer_id = _delivered(bench, {"ok.dat": 3, "gone.dat": 4})
    world.staging_s3.delete_object(Bucket=world.staging_bucket, Key="in/gone.dat")
    return _pass_judged_by_record(
        bench, transfer_id, lambda: _state_is(world, transfer_id, "PARTIAL")
    )


@TABLE.row(
    "destination policy denies the copy",
    ExitCode.PARTIAL,
    "needs s3:GetObject on the source and s3:PutObject on the destination",
    "aws-copy-pt policy --bucket",
)
def _policy_denies(bench: Bench) -> Trial:
    world = bench.w
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{world.dest_bucket}/*",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    world.dest_s3.put_bucket_policy(Bucket=world.dest_bucket, Policy=policy)
    transfer_id = _delivered(bench, {"a.dat": 3, "b.dat": 4})
    return _pass_judged_by_record(
        bench, transfer_id, lambda: _state_is(world, transfer_id, "FAILED")
    )


@TABLE.row(
    "different object at the destination with --on-conflict fail",
    ExitCode.PARTIAL,
    "already exists with different content; not overwritten",
    "--on-conflict fail",
)
def _conflict(bench: Bench) -> Trial:
    world = bench.w
    world.dest_s3.put_object(Bucket=world.dest_bucket, Key="landed/taken.dat", Body=b"theirs")
    transfer_id = _delivered(
        bench, {"taken.dat": 5, "free.dat": 6}, flags=("--on-conflict", "fail")
    )

    def keeps() -> list[str]:
        body = world.dest_s3.get_object(Bucket=world.dest_bucket, Key="landed/taken.dat")
        return [] if body["Body"].read() == b"theirs" else ["the existing object was overwritten"]

    return _pass_judged_by_record(bench, transfer_id, keeps)


@TABLE.row(
    "a pass that fails objects says where to look", ExitCode.PARTIAL, "PARTIAL", "transfers show"
)
def _pass_points_at_failures(bench: Bench) -> Trial:
    world = bench.w
    transfer_id = _delivered(bench, {"ok.dat": 3, "gone.dat": 4})
    world.staging_s3.delete_object(Bucket=world.staging_bucket, Key="in/gone.dat")
    return Trial(("run", "--once"), keeps=lambda: _state_is(world, transfer_id, "PARTIAL"))


@pytest.mark.heavy
@pytest.mark.parametrize("case", TABLE.cases, ids=TABLE.ids)
def test_delivered_input_is_copied_or_refused_with_its_reason_and_nothing_is_lost(
    case: Case, bench: Bench, figures: Figures
) -> None:
    judge(case, bench, figures)
