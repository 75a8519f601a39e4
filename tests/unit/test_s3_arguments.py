"""The argument tables (``s3.arguments``) say what botocore's S3 model says."""

from __future__ import annotations

import boto3
import pytest

from aws_copy_pt.s3.arguments import (
    BUCKET_SETTINGS,
    HEADERS,
    SOURCE_SETTINGS,
    settings_for,
    source_settings_for,
)

MODEL = boto3.session.Session().client("s3", region_name="us-east-1").meta.service_model


@pytest.mark.parametrize("operation", sorted(BUCKET_SETTINGS))
def test_every_setting_routed_to_an_operation_is_one_of_its_parameters(operation: str) -> None:
    shape = MODEL.operation_model(operation).input_shape
    assert shape is not None
    wanted = BUCKET_SETTINGS[operation] | set(SOURCE_SETTINGS.get(operation, {}).values())
    assert wanted <= set(shape.members)


@pytest.mark.parametrize("operation", ["CopyObject", "HeadObject", "ListObjectsV2"])
def test_the_fast_paths_headers_are_botocores(operation: str) -> None:
    shape = MODEL.operation_model(operation).input_shape
    assert shape is not None
    for parameter, header in HEADERS.items():
        if parameter in shape.members:
            serialization = shape.members[parameter].serialization
            assert (serialization["location"], serialization["name"]) == ("header", header)


def test_a_buckets_settings_are_split_per_operation() -> None:
    settings = {
        "ACL": "bucket-owner-full-control",
        "StorageClass": "STANDARD_IA",
        "ExpectedBucketOwner": "222222222222",
        "RequestPayer": "requester",
    }
    assert settings_for("CopyObject", settings) == settings
    assert settings_for("UploadPartCopy", settings) == {
        "ExpectedBucketOwner": "222222222222",
        "RequestPayer": "requester",
    }
    assert source_settings_for("CopyObject", settings) == {
        "ExpectedSourceBucketOwner": "222222222222"
    }
    assert source_settings_for("HeadObject", settings) == {}
