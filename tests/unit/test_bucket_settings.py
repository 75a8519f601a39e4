"""What `bucket add` (and the wizard) accept, refuse and store, before any request is sent."""

from __future__ import annotations

from typing import Any

import pytest

from aws_copy_pt.core.bucket_settings import (
    BucketRequest,
    bucket_name_problem,
    check_endpoint_url,
    check_kms_key_region,
    is_aws_endpoint,
    normalize,
)
from aws_copy_pt.core.credentials import check_access_key_id
from aws_copy_pt.core.paths import PathError, parse_bucket_target
from aws_copy_pt.errors import UsageError

KEY_ARN = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MINIO = "https://minio.lab:9000"


def _request(name: str = "archive-dest", **kwargs: Any) -> BucketRequest:
    return BucketRequest(name=name, credential="c", **kwargs)


def test_settings_are_stored_in_canonical_form() -> None:
    request = normalize(
        _request(
            storage_class="glacier_ir",
            sse="AWS:KMS",
            sse_kms_key_id=KEY_ARN,
            metadata_directive="replace",
            endpoint_url="https://s3.eu-west-1.amazonaws.com/",
        )
    )
    assert request.storage_class == "GLACIER_IR"
    assert (request.sse, request.sse_kms_key_id) == ("aws:kms", KEY_ARN)
    assert request.metadata_directive == "REPLACE"
    assert request.endpoint_url == "https://s3.eu-west-1.amazonaws.com"


def test_a_key_arn_alone_implies_sse_kms() -> None:
    assert normalize(_request(sse_kms_key_id=KEY_ARN)).sse == "aws:kms"


def test_acl_none_sends_no_acl_and_the_default_is_bucket_owner_full_control() -> None:
    assert normalize(_request()).acl == "bucket-owner-full-control"
    assert normalize(_request(acl="none")).acl is None


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"sse_kms_key_id": "alias/archive"}, "KMS alias"),
        ({"sse_kms_key_id": "mrk-1234abcd12ab34cd56ef1234567890ab"}, "bare KMS key id"),
        ({"sse_kms_key_id": "my-key"}, "is not a KMS key ARN"),
        ({"sse": "AES256", "sse_kms_key_id": KEY_ARN}, "only for --sse aws:kms"),
        ({"storage_class": "NEARLINE"}, "unknown storage class"),
        ({"name": "Archive_Dest"}, "not a valid bucket name"),
        ({"name": "a..b"}, "not a valid bucket name"),
        ({"region": "default"}, "not a region name"),
    ],
)
def test_aws_rules_refuse_what_aws_would_refuse(kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(UsageError, match=says) as refused:
        normalize(_request(**kwargs))
    assert refused.value.hint or "only for" in refused.value.message


def test_s3_compatible_stores_keep_their_own_names_classes_regions_and_keys() -> None:
    request = normalize(
        _request(
            name="Lab_Data",
            endpoint_url=MINIO,
            storage_class="nearline",
            region="default",
            sse_kms_key_id="minio-kes-key",
        )
    )
    assert (request.name, request.storage_class, request.region) == (
        "Lab_Data",
        "NEARLINE",
        "default",
    )
    assert request.sse_kms_key_id == "minio-kes-key"


def test_a_kms_key_from_another_region_than_the_bucket_is_refused() -> None:
    check_kms_key_region(KEY_ARN, "eu-west-1")
    with pytest.raises(
        UsageError, match="the KMS key is in eu-west-1 but the bucket is in us-east-1"
    ):
        check_kms_key_region(KEY_ARN, "us-east-1")


def test_only_amazonaws_hosts_count_as_aws() -> None:
    assert is_aws_endpoint(None)
    assert is_aws_endpoint("https://s3.cn-north-1.amazonaws.com.cn")
    assert not is_aws_endpoint(MINIO)
    assert not is_aws_endpoint("https://amazonaws.com.evil.example")


@pytest.mark.parametrize(
    ("name", "aws_ok", "other_ok"),
    [
        ("partner-archive", True, True),
        ("Partner_Archive", False, True),
        ("ab", False, False),
        ("s3://partner-archive", False, False),
        ("partner-archive/run42", False, False),
        ("a..b", False, False),
    ],
)
def test_one_bucket_name_rule_serves_registration_and_bucket_targets(
    name: str, aws_ok: bool, other_ok: bool
) -> None:
    assert (bucket_name_problem(name, aws=True) is None) is aws_ok
    assert (bucket_name_problem(name, aws=False) is None) is other_ok
    if not other_ok and "/" not in name:  # a target's bucket ends at its first "/"
        with pytest.raises(PathError, match="not a valid S3 bucket name"):
            parse_bucket_target(f"{name}/prefix")


def test_an_endpoint_url_error_names_where_it_was_typed() -> None:
    with pytest.raises(UsageError) as flag:
        check_endpoint_url("minio.lab:9000")
    assert flag.value.message == "--endpoint-url 'minio.lab:9000' is not an http(s) URL"
    assert "e.g. --endpoint-url https://" in str(flag.value.hint)
    with pytest.raises(UsageError) as question:
        check_endpoint_url("http://127.0.0.1:9000x", asked_as="the endpoint URL")
    assert question.value.message.startswith("the endpoint URL 'http://127.0.0.1:9000x' is not")
    assert "--" not in str(question.value.hint)


def test_an_access_key_id_must_look_like_one_wherever_it_was_typed() -> None:
    assert check_access_key_id("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE"
    with pytest.raises(UsageError, match=r"^the access key id does not look like"):
        check_access_key_id("wJalrXUtnFEMI/K7MDENG", asked_as="the access key id")
