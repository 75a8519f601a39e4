"""A Globus delivery into staging on one provider (moto), archived on another (`rclone serve
s3`): registered, watched and finished with the real script, the objects streamed between them."""

from __future__ import annotations

import json

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3server import RcloneS3Server, unique_bucket_name
from tests.fixtures.pipeline import Pipeline, content_for

pytestmark = pytest.mark.slow

FILES = {"run9/a.dat": 3_000, "run9/sub/b.dat": 70_000, "run9/empty.bin": 0}


def _other_provider(pipeline: Pipeline, rclone: RcloneS3Server) -> str:
    """A bucket on `rclone serve s3`, registered with its own keys and endpoint."""
    bucket = unique_bucket_name("archive")
    rclone.client().create_bucket(Bucket=bucket)
    secret = {"AWS_COPY_PT_SECRET_ACCESS_KEY": rclone.account.secret_access_key}
    env = {**pipeline.env, **secret, "AWS_COPY_PT_SESSION_TOKEN": ""}
    pipeline.run("aws", "add", "rclone", "--access-key-id", rclone.account.access_key_id, env=env)
    pipeline.cli(
        "bucket", "add", bucket, "--credentials", "rclone", "--endpoint-url", rclone.endpoint_url
    ).ok()
    return bucket


def test_a_watched_task_is_streamed_into_another_provider_and_verified(
    pipeline: Pipeline, rclone_s3_server: RcloneS3Server
) -> None:
    archive = _other_provider(pipeline, rclone_s3_server)
    task = pipeline.add_task(FILES, polls_active=0)

    watched = json.loads(
        pipeline.cli("--json", "watch", task, "--to", f"{archive}/lab").ok().stdout
    )
    for _ in range(4):  # poll, list, copy: a few passes at most
        pipeline.cli("run", "--once")
        if pipeline.status()[0]["state"] == "DONE":
            break
    detail = json.loads(pipeline.cli("--json", "transfers", "show", str(watched["id"])).ok().stdout)

    assert watched["route"] == "stream"
    assert detail["summary"]["state"] == "DONE"
    assert detail["summary"]["route"] == "stream"
    assert sum(detail["verified_by"].values()) == len(FILES)
    client = rclone_s3_server.client()
    for name, size in FILES.items():
        body = client.get_object(Bucket=archive, Key=f"lab/{name}")["Body"].read()
        assert body == content_for(f"in/{name}", size)


def test_watch_refuses_server_side_into_another_provider_before_registering(
    pipeline: Pipeline, rclone_s3_server: RcloneS3Server
) -> None:
    archive = _other_provider(pipeline, rclone_s3_server)
    task = pipeline.add_task(FILES)

    refused = pipeline.cli("watch", task, "--to", archive, "--route", "server-side")

    refused.fails(ExitCode.USAGE, says="different S3 services")
    assert "--route stream" in refused.stderr
    assert pipeline.status() == []
