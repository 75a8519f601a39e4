"""Staging deletes bound to what was verified, on the moto server and on `rclone serve s3`.

moto honours the ETag of a DeleteObjects object and If-Match on DeleteObject (412 for a changed
object, NoSuchKey for a missing one), as S3 does. `rclone serve s3` ignores both and deletes
anyway: for it the ETags are compared before the delete (a listing), and a changed object is
kept there too. On a versioned bucket the exact version copied is deleted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aws_copy_pt.s3.clients import LazyS3
from aws_copy_pt.s3.copier import CopyRoute
from aws_copy_pt.s3.deletes import BoundDelete, conditional_deletes, delete_staging
from aws_copy_pt.sandbox.s3server import MotoS3Server, RcloneS3Server, unique_bucket_name
from aws_copy_pt.services.transfers import retry_transfer, transfer_detail
from tests.functional.copy_world import CopyWorld, s3_error
from tests.functional.copy_world import copy_world as copy_world

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _route(client: S3Client, bucket: str, endpoint: str) -> CopyRoute:
    lazy = LazyS3.ready(client)
    return CopyRoute(bucket, bucket, lazy, lazy, {}, {}, source_endpoint=endpoint)


def _scene(client: S3Client) -> tuple[str, dict[str, str]]:
    """A bucket holding ``same`` (unchanged), ``changed`` (replaced after it was verified);
    ``gone`` was verified and has been deleted since. Returns the bucket and verified ETags."""
    bucket = unique_bucket_name("deletes")
    client.create_bucket(Bucket=bucket)
    verified = {}
    for key in ("same", "changed", "gone"):
        verified[key] = client.put_object(Bucket=bucket, Key=f"in/{key}", Body=key.encode())[
            "ETag"
        ].strip('"')
    client.put_object(Bucket=bucket, Key="in/changed", Body=b"the newer version")
    client.delete_object(Bucket=bucket, Key="in/gone")
    return bucket, verified


def _delete_all(route: CopyRoute, verified: dict[str, str]) -> Any:
    return delete_staging(route, [BoundDelete(f"in/{k}", etag) for k, etag in verified.items()])


def _keys(client: S3Client, bucket: str) -> dict[str, bytes]:
    found = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in found}


def test_moto_honours_the_etag_of_a_delete_and_keeps_a_changed_object(
    s3_server: MotoS3Server,
) -> None:
    client = s3_server.client(s3_server.accounts().staging)
    bucket, verified = _scene(client)
    route = _route(client, bucket, s3_server.endpoint_url)
    assert conditional_deletes(route, "in/")
    outcome = _delete_all(route, verified)
    assert (sorted(outcome.deleted), outcome.changed, outcome.errors) == (
        ["in/gone", "in/same"],
        ["in/changed"],
        {},
    )
    assert _keys(client, bucket) == {"in/changed": b"the newer version"}


def test_rclone_ignores_delete_conditions_so_etags_are_compared_first_and_nothing_changed_goes(
    rclone_s3_server: RcloneS3Server, rclone_s3_client: S3Client
) -> None:
    bucket, verified = _scene(rclone_s3_client)
    route = _route(rclone_s3_client, bucket, rclone_s3_server.endpoint_url)
    assert not conditional_deletes(route, "in/")  # the probe deleted "nothing" and said so
    outcome = _delete_all(route, verified)
    assert (sorted(outcome.deleted), outcome.changed, outcome.errors) == (
        ["in/gone", "in/same"],
        ["in/changed"],
        {},
    )
    assert _keys(rclone_s3_client, bucket) == {"in/changed": b"the newer version"}


def test_a_delete_with_nothing_verified_to_bind_it_to_is_not_sent(
    s3_server: MotoS3Server,
) -> None:
    client = s3_server.client(s3_server.accounts().staging)
    bucket, _ = _scene(client)
    outcome = delete_staging(
        _route(client, bucket, s3_server.endpoint_url), [BoundDelete("in/same", None)]
    )
    assert outcome.deleted == [] and "no verified ETag" in outcome.errors["in/same"]
    assert "in/same" in _keys(client, bucket)


def test_verified_staging_objects_are_deleted_each_bound_to_its_verified_etag(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    etags = {key: world.put(key, key.encode())["ETag"].strip('"') for key in ("d/a", "d/b")}
    bodies: list[bytes] = []
    world.hook(world.staging, "DeleteObjects", lambda request, **_: bodies.append(request.body))
    transfer = world.transfer(sorted(etags), options={"delete_staging": True})
    report = world.copy(transfer)
    assert (report.state, report.staging_deleted) == ("DONE", 2)
    objects = re.findall(r"<Key>(.*?)</Key><ETag>(.*?)</ETag>", bodies[0].decode())
    sent = {key: etag.replace("&quot;", '"').strip('"') for key, etag in objects}
    assert sent == etags


def test_a_staging_delete_that_fails_stays_owed_is_shown_and_a_retry_finishes_it(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    for key in ("e/a", "e/b"):
        world.put(key, key.encode())

    def denied(**_: Any) -> Any:
        return s3_error(403, "AccessDenied", "not allowed to delete")

    world.hook(world.staging, "DeleteObjects", denied)
    transfer = world.transfer(["e/a", "e/b"], options={"delete_staging": True})
    report = world.copy(transfer)
    assert (report.state, report.verified, report.staging_left) == ("PARTIAL", 2, 2)
    with world.db.session() as session:
        detail = transfer_detail(session, transfer)
    assert detail.staging_left_total == 2
    assert {left.source_key for left in detail.staging_left} == {"e/a", "e/b"}
    assert all("needs s3:DeleteObject" in str(left.why) for left in detail.staging_left)
    assert "could not be deleted" in str(detail.summary.last_error)

    world.unhook()
    with world.db.session() as session:
        retry_transfer(session, transfer)
    again = world.copy(transfer)
    assert (again.state, again.staging_deleted, again.staging_left) == ("DONE", 2, 0)
    assert world.staging_s3.list_objects_v2(Bucket=world.staging, Prefix="e/").get("KeyCount") == 0


def test_on_a_versioned_staging_bucket_the_version_copied_is_deleted_and_a_newer_one_stays(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.staging_s3.put_bucket_versioning(
        Bucket=world.staging, VersioningConfiguration={"Status": "Enabled"}
    )
    first = world.put("v/a", b"as delivered")
    bodies: list[bytes] = []

    def newer_arrives(request: Any, **_: Any) -> None:  # after the copy, before the delete
        bodies.append(request.body)
        world.staging_s3.put_object(Bucket=world.staging, Key="v/a", Body=b"delivered again")

    world.hook(world.staging, "DeleteObjects", newer_arrives)
    transfer = world.transfer(["v/a"], options={"delete_staging": True})
    report = world.copy(transfer)
    assert report.state == "DONE", report
    assert world.row(transfer, "v/a").source_version_id == first["VersionId"]
    assert f"<VersionId>{first['VersionId']}</VersionId>" in bodies[0].decode()
    staged = world.staging_s3.get_object(Bucket=world.staging, Key="v/a")["Body"].read()
    assert staged == b"delivered again"
    copied = world.dest_s3.get_object(Bucket=world.dest, Key="v/a")["Body"].read()
    assert copied == b"as delivered"
    versions = world.staging_s3.list_object_versions(Bucket=world.staging)["Versions"]
    for version in versions:  # a versioned bucket is emptied version by version
        world.staging_s3.delete_object(
            Bucket=world.staging, Key=version["Key"], VersionId=version["VersionId"]
        )
