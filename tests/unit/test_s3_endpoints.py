"""Where fast requests go, when they step aside for boto3, and which trust store they use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec, LazyS3, s3_config
from aws_copy_pt.s3.endpoints import Endpoint, Endpoints, fast_path_reaches, path_style_base
from aws_copy_pt.s3.environment import configured_ca_bundle, default_ca_bundle
from aws_copy_pt.s3.fast import copy_headers

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def no_client() -> LazyS3:
    def build() -> Any:
        raise AssertionError("a boto3 client was built")

    return LazyS3(build, lambda: None)


def test_a_custom_endpoint_is_addressed_path_style_without_a_client() -> None:
    endpoints = Endpoints(no_client(), "http://minio.lab:9000", "eu-central-1")
    assert endpoints.get("raw-data") == Endpoint(
        "http", "minio.lab:9000", "/raw-data/", "eu-central-1"
    )
    assert path_style_base("https://ceph.example.org/", None) == Endpoint(
        "https", "ceph.example.org", "/", "us-east-1"
    )


@pytest.mark.parametrize(
    "endpoint_url",
    [
        None,  # AWS itself
        "https://s3.eu-west-1.amazonaws.com",
        "https://gateway.example.org/s3",  # a path: botocore knows how it combines
        "https://gateway.example.org/?tenant=x",
        "https://user:secret@gateway.example.org",
        "ftp://files.example.org",
    ],
)
def test_aws_and_unusual_endpoints_are_left_to_botocores_rules(endpoint_url: str | None) -> None:
    assert path_style_base(endpoint_url, "eu-west-1") is None


@pytest.mark.parametrize(
    ("variables", "reaches"),
    [
        ({}, True),
        ({"http_proxy": "http://proxy.example.org:3128"}, True),  # the CRT uses it too
        ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "minio.lab"}, False),
        ({"http_proxy": "http://proxy:3128", "no_proxy": ".lab"}, False),
        ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "other.lab"}, True),
        ({"HTTP_PROXY": "https://proxy:3128"}, False),  # TLS to the proxy: not tried with the CRT
        ({"HTTP_PROXY": "http://me:pw@proxy:3128"}, False),  # a proxy user: ditto
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "minio.lab"}, True),  # not for http
    ],
)
def test_the_fast_path_steps_aside_where_it_might_not_reach_the_endpoint_as_boto3_does(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], reaches: bool
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert fast_path_reaches("http", "minio.lab:9000") is reaches
    endpoints = Endpoints(no_client(), "http://minio.lab:9000", "us-east-1")
    assert (endpoints.get("raw") is not None) is reaches


def _copy_answer(request: Any, **_: Any) -> AWSResponse:
    class Raw:
        def stream(self, **_: Any) -> Any:
            yield b"<CopyObjectResult><ETag>&quot;x&quot;</ETag></CopyObjectResult>"

    return AWSResponse(request.url, 200, {}, Raw())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("region", "bucket"),
    [("eu-west-1", "dest-bucket"), ("us-east-1", "dest-bucket"), ("eu-west-1", "dotted.bucket")],
)
def test_on_aws_fast_requests_go_where_botocore_sends_its_own(region: str, bucket: str) -> None:
    client = boto3.session.Session().client(
        "s3",
        region_name=region,
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
        config=s3_config(None),
    )
    urls: list[str] = []
    client.meta.events.register(
        "before-send.s3.*", lambda request, **_: urls.append(request.url) or _copy_answer(request)
    )
    client.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": "s", "Key": "k"})
    endpoint = Endpoints(LazyS3.ready(client), None, region).get(bucket)
    assert endpoint is not None and endpoint.region == region
    assert urls == [f"{endpoint.scheme}://{endpoint.host}{endpoint.path_prefix}k"]


def test_header_values_with_line_breaks_or_beyond_ascii_are_left_to_boto3() -> None:
    base = {"Bucket": "d", "Key": "k", "CopySource": {"Bucket": "s", "Key": "a b/ü+%#?.dat"}}
    headers = copy_headers({**base, "Metadata": {"note": "fine"}})
    assert headers == [
        ("x-amz-copy-source", "s/a%20b/%C3%BC%2B%25%23%3F.dat"),
        ("x-amz-meta-note", "fine"),
    ]
    assert copy_headers({**base, "Metadata": {"note": "a\r\nx-amz-acl: public-read"}}) is None
    assert copy_headers({**base, "ContentType": "text/plain\n"}) is None
    assert copy_headers({**base, "Metadata": {"note": "ünïcode"}}) is None


# --- the trust store ------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [None, "lab", "other"])
@pytest.mark.parametrize("from_env", [False, True])
def test_the_ca_bundle_is_the_one_botocore_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str | None, from_env: bool
) -> None:
    config = tmp_path / "config"
    keys = "aws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = secret\n"
    config.write_text(
        f"[default]\nca_bundle = /etc/default-ca.pem\n{keys}"
        f"[profile lab]\nca_bundle = /etc/lab-ca.pem\n{keys}"
        f"[profile other]\nregion = us-east-1\n{keys}"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    if from_env:
        monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/env-ca.pem")
    theirs = botocore.session.Session(profile=profile).get_config_variable("ca_bundle")
    if profile is None:
        assert configured_ca_bundle(None) == theirs
    factory = ClientFactory()
    spec = CredentialSpec(key="x", kind="profile", profile=profile)
    assert factory.ca_bundle(spec) == (theirs or default_ca_bundle())


def test_stored_keys_use_the_default_profiles_ca_bundle_without_a_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile lab]\nca_bundle = /etc/lab-ca.pem\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "lab")
    factory = ClientFactory()
    spec = CredentialSpec(key="k", kind="keys", access_key_id="AKIA", secret_access_key="s")
    assert factory.ca_bundle(spec) == "/etc/lab-ca.pem"
    assert factory._sessions == {}
