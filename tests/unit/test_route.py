"""The route of a transfer: server-side on one S3 service, streamed between two (core.route)."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.route import (
    Provider,
    RouteKind,
    RouteRefused,
    decide_route,
    provider_of,
    route_choice,
    traits_of,
)
from aws_copy_pt.errors import ExitCode, UsageError

MINIO = "https://minio.lab.example.org:9000"
GCS = "https://storage.googleapis.com"


@pytest.mark.parametrize(
    ("source", "dest"),
    [
        (None, None),
        (None, "https://s3.eu-west-1.amazonaws.com"),
        (MINIO, MINIO + "/"),
    ],
)
def test_two_buckets_on_one_service_are_copied_server_side(
    source: str | None, dest: str | None
) -> None:
    decision = decide_route(source, dest)

    assert decision.kind is RouteKind.SERVER_SIDE
    assert "same S3 service" in decision.reason


@pytest.mark.parametrize(("source", "dest"), [(GCS, None), (MINIO, None), (MINIO, GCS)])
def test_two_services_are_streamed_and_the_reason_names_both(
    source: str | None, dest: str | None
) -> None:
    decision = decide_route(source, dest, names=("lab", "archive"))

    assert decision.kind is RouteKind.STREAM
    assert "lab (" in decision.reason and "archive (" in decision.reason
    assert decision.as_dict()["route"] == "stream"


def test_stream_can_be_forced_on_one_service_for_two_accounts() -> None:
    decision = decide_route(None, None, "stream")

    assert decision.kind is RouteKind.STREAM
    assert decision.as_dict() == {"route": "stream", "requested": "stream", "why": "--route stream"}


def test_server_side_between_two_services_is_refused_with_what_to_do_instead() -> None:
    with pytest.raises(RouteRefused) as refused:
        decide_route(GCS, None, "server-side", names=("gcs-staging", "archive"))

    assert refused.value.exit_code == ExitCode.USAGE
    assert "gcs-staging (https://storage.googleapis.com) and archive (AWS)" in str(refused.value)
    assert "--route stream" in (refused.value.hint or "")


def test_an_unknown_route_choice_names_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="auto, server-side, stream"):
        route_choice("sideways")
    assert route_choice(None).value == "auto"


def test_only_aws_is_trusted_with_flexible_checksums_and_gcs_has_no_part_copy() -> None:
    assert provider_of(None) is Provider.AWS
    assert provider_of(GCS) is Provider.GCS
    assert provider_of(MINIO) is Provider.OTHER
    assert traits_of(None).flexible_checksums and traits_of(None).upload_part_copy
    assert not traits_of(GCS).flexible_checksums and not traits_of(GCS).upload_part_copy
    assert not traits_of(MINIO).flexible_checksums and traits_of(MINIO).upload_part_copy
