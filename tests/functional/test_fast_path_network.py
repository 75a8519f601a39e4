"""The fast path takes its proxy, trust store and credentials from where boto3 takes them.

Real parts: `rclone serve s3` (checks signatures) behind a TLS front with a private CA made at
test time, a recording CONNECT/forward proxy, and moto's STS for an assumed role whose keys
change when they are refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aws_copy_pt.s3 import crt
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec, LazyS3
from aws_copy_pt.s3.endpoints import certificate_trusted
from aws_copy_pt.s3.fast import FastS3
from aws_copy_pt.sandbox.s3server import MotoS3Server, RcloneS3Server, unique_bucket_name
from tests.fixtures.http_proxy import RecordingProxy
from tests.fixtures.tls_front import TlsFront
from tests.functional.test_fast_path import fast_s3, no_client
from tests.support.faultproxy import FaultProxy

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the proxy variables it means; quick retries where a test expects failures."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(crt, "RETRIES", crt.Retries(attempts=2, backoff_ms=1, max_backoff_s=1))


def a_bucket(server: RcloneS3Server) -> str:
    bucket = unique_bucket_name("net")
    server.client(checksums="when_required").create_bucket(Bucket=bucket)
    server.client(checksums="when_required").put_object(Bucket=bucket, Key="d/a", Body=b"a")
    return bucket


def stored_keys(server: RcloneS3Server) -> CredentialSpec:
    """A registered credential of stored keys for ``server``'s account."""
    account = server.account
    return CredentialSpec(
        key="lab",
        kind="keys",
        access_key_id=account.access_key_id,
        secret_access_key=account.secret_access_key,
    )


def listed(fast: FastS3, bucket: str) -> list[str] | None:
    page = fast.list_objects(bucket)
    return None if page is None else [item["Key"] for item in page.contents]


# --- trust store ---------------------------------------------------------------------------------


def test_a_private_ca_named_by_aws_ca_bundle_is_trusted(
    rclone_s3_server: RcloneS3Server,
    tls_front: Callable[[str], TlsFront],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    front = tls_front(rclone_s3_server.endpoint_url)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(front.ca_file))
    factory = ClientFactory()
    spec = stored_keys(rclone_s3_server)
    url = front.endpoint_url()
    assert factory.ca_bundle(spec) == str(front.ca_file)
    fast = factory.fast_s3(spec, no_client(), region="us-east-1", endpoint_url=url)
    assert fast is not None and listed(fast, bucket) == ["d/a"]
    # boto3 trusts the same bundle: the two paths agree.
    client = factory.s3(spec, region="us-east-1", endpoint_url=url)
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["d/a"]
    assert front.handshakes_failed == 0


def test_a_profiles_ca_bundle_is_trusted(
    rclone_s3_server: RcloneS3Server,
    tls_front: Callable[[str], TlsFront],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    front = tls_front(rclone_s3_server.endpoint_url)
    account = rclone_s3_server.account
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(f"[profile lab]\nregion = us-east-1\nca_bundle = {front.ca_file}\n")
    credentials.write_text(
        f"[lab]\naws_access_key_id = {account.access_key_id}\n"
        f"aws_secret_access_key = {account.secret_access_key}\n"
    )
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    factory = ClientFactory()
    spec = CredentialSpec(key="lab", kind="profile", profile="lab")
    assert factory.ca_bundle(spec) == str(front.ca_file)
    fast = factory.fast_s3(spec, no_client(), region="us-east-1", endpoint_url=front.endpoint_url())
    assert fast is not None and listed(fast, bucket) == ["d/a"]


def test_a_private_ca_not_in_the_trust_store_leaves_the_endpoint_to_boto3(
    rclone_s3_server: RcloneS3Server, tls_front: Callable[[str], TlsFront]
) -> None:
    bucket = a_bucket(rclone_s3_server)
    with FaultProxy(rclone_s3_server.endpoint_url) as server:
        front = tls_front(server.endpoint_url)
        host = f"localhost:{front.port}"
        assert not certificate_trusted(host, None)
        assert certificate_trusted(host, str(front.ca_file))
        fast = fast_s3(front.endpoint_url(), rclone_s3_server.account, ca_file=None)
        assert listed(fast, bucket) is None  # boto3 repeats it, and fails verification at once
        assert server.records == []  # the CRT never got through


# --- proxies ------------------------------------------------------------------------------


def test_an_https_endpoint_is_reached_through_the_connect_proxy(
    rclone_s3_server: RcloneS3Server,
    tls_front: Callable[[str], TlsFront],
    recording_proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    front = tls_front(rclone_s3_server.endpoint_url)
    monkeypatch.setenv("HTTPS_PROXY", recording_proxy.url)
    fast = fast_s3(front.endpoint_url(), rclone_s3_server.account, ca_file=str(front.ca_file))
    assert listed(fast, bucket) == ["d/a"]
    assert recording_proxy.seen == [("CONNECT", f"localhost:{front.port}")]


def test_an_http_endpoint_is_reached_through_the_forward_proxy(
    rclone_s3_server: RcloneS3Server,
    recording_proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    monkeypatch.setenv("http_proxy", recording_proxy.url)
    fast = fast_s3(rclone_s3_server.endpoint_url, rclone_s3_server.account)
    assert listed(fast, bucket) == ["d/a"]
    ((method, target),) = recording_proxy.seen
    assert method == "GET" and target.startswith(f"{rclone_s3_server.endpoint_url}/{bucket}?")
    assert all(" fast" in agent for agent in recording_proxy.agents)


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1:1,127.0.0.1"])
def test_an_http_endpoint_named_by_no_proxy_never_reaches_the_proxy(
    rclone_s3_server: RcloneS3Server,
    recording_proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with FaultProxy(rclone_s3_server.endpoint_url) as endpoint:
        fast = fast_s3(endpoint.endpoint_url, rclone_s3_server.account)
        assert listed(fast, bucket) is None  # the fast path steps aside: boto3 sends it
        assert endpoint.records == [] and recording_proxy.seen == []


def test_an_https_endpoint_named_by_no_proxy_never_reaches_the_proxy(
    rclone_s3_server: RcloneS3Server,
    tls_front: Callable[[str], TlsFront],
    recording_proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = a_bucket(rclone_s3_server)
    front = tls_front(rclone_s3_server.endpoint_url)
    monkeypatch.setenv("HTTPS_PROXY", recording_proxy.url)
    monkeypatch.setenv("no_proxy", ".example.org,localhost")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(front.ca_file))
    factory = ClientFactory()
    spec = stored_keys(rclone_s3_server)
    url = front.endpoint_url()
    lazy = factory.lazy_s3(spec, region="us-east-1", endpoint_url=url)
    fast = factory.fast_s3(spec, lazy, region="us-east-1", endpoint_url=url)
    assert fast is not None and listed(fast, bucket) is None
    # boto3 goes direct, as NO_PROXY says.
    client = lazy.get()
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["d/a"]
    assert recording_proxy.seen == []


def test_a_copy_with_its_endpoint_in_no_proxy_is_made_by_boto3_directly(
    cli: Any,
    rclone_s3_server: RcloneS3Server,
    recording_proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.functional.test_fast_path import _registered_pair

    server = rclone_s3_server
    secret = server.account.secret_access_key
    with FaultProxy(server.endpoint_url) as endpoint:
        pairs = ("one", secret), ("two", secret)
        source, dest = _registered_pair(cli, server, *pairs, endpoint.endpoint_url)
        server.client(checksums="when_required").put_object(Bucket=source, Key="d/a", Body=b"a")
        env = {"HTTP_PROXY": recording_proxy.url, "NO_PROXY": "127.0.0.1"}
        cli("copy", f"{source}/d", f"{dest}/d", env=env).ok()
        assert {r.operation for r in endpoint.records} >= {"CopyObject", "ListObjectsV2"}
        assert not any(r.fast for r in endpoint.records)
    assert recording_proxy.seen == []


# --- credentials ---------------------------------------------------------------------------------


def test_assumed_role_keys_are_refreshed_for_the_fast_path(
    s3_server: MotoS3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server.endpoint_url)
    accounts = s3_server.accounts()
    bucket = unique_bucket_name("refresh")
    s3_server.make_bucket(accounts.destination, bucket)
    factory = ClientFactory()
    base = accounts.staging
    spec = CredentialSpec(
        key="role",
        kind="keys",
        access_key_id=base.access_key_id,
        secret_access_key=base.secret_access_key,
        session_token=base.session_token,
        role_arn=f"arn:aws:iam::{accounts.destination.account_id}:role/aws-copy-pt-sandbox",
    )
    with FaultProxy(s3_server.endpoint_url) as endpoint:
        lazy = LazyS3(lambda: pytest.fail("no boto3 client is needed"), lambda: None)
        fast = factory.fast_s3(spec, lazy, region="us-east-1", endpoint_url=endpoint.endpoint_url)
        assert fast is not None
        assert listed(fast, bucket) == []
        keys = factory.signing_keys(spec)
        keys._expiry_time = keys._expiry_time.replace(year=2000)  # type: ignore[union-attr]
        assert listed(fast, bucket) == []
        first, second = (r.access_key for r in endpoint.records)
    assert first != second  # signed with the keys AssumeRole gave after the refresh
    assert second == keys.get_frozen_credentials().access_key  # type: ignore[union-attr]
