"""`aws-copy-pt collection add|list|remove`, validated against the Globus stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from tests.fixtures.cli import CliRunner
from tests.fixtures.globus_world import STAGING_BUCKET, GlobusWorld, build_world, files

S3_CONNECTOR = "7643e831-5f6c-4b47-a07f-8ee90f401d23"


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.login()
    yield world
    world.db.close()


def test_add_checks_the_collection_at_globus_and_caches_what_it_says(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli(
        "--json", "collection", "add", world.staging, "--bucket", STAGING_BUCKET, env=world.env
    ).ok()

    added = json.loads(result.stdout)
    assert added["display_name"] == "S3 staging"
    assert added["entity_type"] == "GCSv5_mapped_collection"
    assert added["needs_data_access_consent"] is True
    assert added["is_s3_gateway"] is None  # Globus did not show the connector
    assert added["mapping_root"] == f"s3://{STAGING_BUCKET}/"
    assert (added["example_path"], added["example_key"]) == (
        f"/{STAGING_BUCKET}/run1/data.bin",
        "run1/data.bin",
    )
    assert [(r.path, r.status) for r in world.standin.requests] == [
        (f"/v0.10/endpoint/{world.staging}", 200)
    ]


def test_add_explains_the_mapping_and_the_consent_in_words(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli(
        "collection",
        "add",
        world.staging,
        "--bucket",
        STAGING_BUCKET,
        "--base-path",
        f"/{STAGING_BUCKET}/incoming",
        env=world.env,
    ).ok()

    assert "Registered S3 staging." in result.stdout
    assert f"/run1/data.bin is staging object s3://{STAGING_BUCKET}/incoming/run1/data.bin" in (
        result.stdout
    )
    assert "run `aws-copy-pt login` once more" in result.stderr


def test_s3_connector_is_recorded_when_globus_shows_it(cli: CliRunner, world: GlobusWorld) -> None:
    s3 = world.standin.add_collection(
        "S3 gw", owner=world.user, extra={"connector_id": S3_CONNECTOR}
    )

    result = cli("--json", "collection", "add", s3, "--bucket", STAGING_BUCKET, env=world.env).ok()

    assert json.loads(result.stdout)["is_s3_gateway"] is True


def test_unknown_collection_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    missing = "5e6f7a8b-0000-4000-8000-000000000000"

    result = cli("collection", "add", missing, "--bucket", STAGING_BUCKET, env=world.env)

    result.fails(ExitCode.REMOTE, says=f"Globus has no collection {missing}")


def test_an_endpoint_is_not_a_collection(cli: CliRunner, world: GlobusWorld) -> None:
    endpoint = world.standin.add_collection("GCS", owner=world.user, entity_type="GCSv5_endpoint")

    result = cli("collection", "add", endpoint, "--bucket", STAGING_BUCKET, env=world.env)

    result.fails(ExitCode.USAGE, says="is a Globus endpoint, not a collection")


def test_unregistered_bucket_names_the_command_that_registers_it(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli("collection", "add", world.staging, "--bucket", "nope-bucket", env=world.env)

    result.fails(ExitCode.CONFIG, says="bucket 'nope-bucket' is not registered")
    assert "aws-copy-pt bucket add nope-bucket --credentials" in result.stderr
    assert world.standin.requests == []  # refused before asking Globus


def test_base_path_in_another_bucket_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli(
        "collection",
        "add",
        world.staging,
        "--bucket",
        STAGING_BUCKET,
        "--base-path",
        "/other-bucket/",
        env=world.env,
    )

    result.fails(ExitCode.USAGE, says="not the staging bucket")


def test_malformed_collection_id_is_a_usage_error(cli: CliRunner, world: GlobusWorld) -> None:
    cli("collection", "add", "not-a-uuid", "--bucket", STAGING_BUCKET, env=world.env).fails(
        ExitCode.USAGE, says="not a valid Globus collection id"
    )


def test_adding_twice_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    world.register_staging()

    result = cli("collection", "add", world.staging, "--bucket", STAGING_BUCKET, env=world.env)

    result.fails(ExitCode.CONFIG, says="already registered")


def test_add_without_login_needs_login(cli: CliRunner, world: GlobusWorld) -> None:
    cli("logout", "--local-only", env=world.env).ok()

    result = cli("collection", "add", world.staging, "--bucket", STAGING_BUCKET, env=world.env)

    result.fails(ExitCode.NEEDS_LOGIN, says="run `aws-copy-pt login` in a terminal")


def test_list_shows_collections_and_their_use(cli: CliRunner, world: GlobusWorld) -> None:
    world.register_staging(base_path=f"/{STAGING_BUCKET}/", key_prefix="globus")
    world.add_transfer(world.add_task(files(1)))

    listed = json.loads(cli("--json", "collection", "list", env=world.env).ok().stdout)
    table = cli("collection", "list", env=world.env).ok().stdout

    [collection] = listed["collections"]
    assert collection["mapping_root"] == f"s3://{STAGING_BUCKET}/globus/"
    assert collection["transfers"] == 1
    assert world.staging in table and "S3 staging" in table


def test_remove_is_refused_while_a_transfer_needs_the_mapping(
    cli: CliRunner, world: GlobusWorld
) -> None:
    world.register_staging()
    transfer_id = world.add_transfer(world.add_task(files(1)))

    cli("collection", "remove", world.staging, env=world.env).fails(
        ExitCode.CONFIG, says=f"still used by transfer(s) {transfer_id}"
    )
    cli("transfers", "cancel", str(transfer_id), env=world.env).ok()
    cli("collection", "remove", world.staging, env=world.env).ok()

    assert world.transfer(transfer_id).collection_id is None  # history kept, detached
    assert "No staging collections yet" in cli("collection", "list", env=world.env).stdout


def test_remove_unknown_collection_names_the_add_command(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli("collection", "remove", world.staging, env=world.env)

    result.fails(ExitCode.CONFIG, says="is not a registered staging collection")
