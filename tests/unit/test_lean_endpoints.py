"""Where lean requests go: custom endpoints path-style without a client, AWS by botocore's rules."""

from __future__ import annotations

import pytest

from aws_copy_pt.s3.clients import LazyS3
from aws_copy_pt.s3.lean_endpoints import Endpoint, Endpoints, path_style_base


def no_client() -> LazyS3:
    def build() -> object:
        raise AssertionError("a boto3 client was built")

    return LazyS3(build, lambda: None)  # type: ignore[arg-type]


def test_a_custom_endpoint_is_addressed_path_style_without_a_client() -> None:
    endpoints = Endpoints(no_client(), "http://minio.lab:9000", "eu-central-1")
    assert endpoints.get("raw-data") == Endpoint(
        "http", "minio.lab:9000", ("minio.lab", 9000), "/raw-data/", "eu-central-1"
    )
    assert path_style_base("https://ceph.example.org/", None) == Endpoint(
        "https", "ceph.example.org", ("ceph.example.org", 443), "/", "us-east-1"
    )


@pytest.mark.parametrize(
    "endpoint_url",
    [
        None,  # AWS itself
        "https://s3.eu-west-1.amazonaws.com",
        "https://gateway.example.org/s3",  # a path: botocore knows how it combines
        "https://gateway.example.org/?tenant=x",
        "ftp://files.example.org",
    ],
)
def test_aws_and_unusual_endpoints_are_left_to_botocore(endpoint_url: str | None) -> None:
    assert path_style_base(endpoint_url, "eu-west-1") is None


def test_an_endpoint_behind_a_proxy_is_left_to_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.example.org:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert path_style_base("http://minio.lab:9000", "us-east-1") is None
