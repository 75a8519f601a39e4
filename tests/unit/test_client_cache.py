"""The client factory shares sessions and clients per credential, and never across key changes."""

from __future__ import annotations

from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec


def _keys(secret: str, key_id: str = "AKIAEXAMPLE000000001") -> CredentialSpec:
    return CredentialSpec(key="lab", kind="keys", access_key_id=key_id, secret_access_key=secret)


def test_the_same_credential_shares_one_client() -> None:
    factory = ClientFactory()
    first = factory.s3(_keys("secret-1"), region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    again = factory.s3(_keys("secret-1"), region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    assert first is again


def test_rotated_keys_under_the_same_name_get_their_own_session_and_client() -> None:
    factory = ClientFactory()
    where = {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"}
    old = factory.s3(_keys("secret-1"), **where)
    new_secret = factory.s3(_keys("secret-2"), **where)
    new_key = factory.s3(_keys("secret-1", key_id="AKIAEXAMPLE000000002"), **where)
    assert len({id(old), id(new_secret), id(new_key)}) == 3
    signing = new_secret._request_signer._credentials.get_frozen_credentials()
    assert signing.secret_key == "secret-2"


def test_the_cache_key_never_holds_the_secret_itself() -> None:
    identity = _keys("secret-1").identity
    assert identity[0] == "lab"
    assert all("secret-1" not in part for part in identity)


def test_forget_drops_every_version_of_a_credential() -> None:
    factory = ClientFactory()
    where = {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"}
    old = factory.s3(_keys("secret-1"), **where)
    factory.s3(_keys("secret-2"), **where)
    factory.forget("lab")
    assert factory.s3(_keys("secret-1"), **where) is not old
