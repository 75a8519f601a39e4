"""The generated policies grant exactly what the copy engine does, to exactly the copier."""

from __future__ import annotations

import json
from typing import Any

from aws_copy_pt.core.policy import (
    PolicyBucket,
    PolicySet,
    Principal,
    build_policies,
    copier_principal,
)

STAGING_ACCOUNT = "111111111111"
DEST_ACCOUNT = "222222222222"
KEY_ARN = f"arn:aws:kms:eu-west-1:{DEST_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STAGING_KEY_ARN = (
    f"arn:aws:kms:us-east-1:{STAGING_ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab"
)
USER_ARN = f"arn:aws:iam::{STAGING_ACCOUNT}:user/globus-copier"
DEST = PolicyBucket(
    "archive-dest",
    region="eu-west-1",
    owner_account=DEST_ACCOUNT,
    acl="bucket-owner-full-control",
)
STAGING = PolicyBucket("globus-staging", region="us-east-1", owner_account=STAGING_ACCOUNT)
USER = Principal(STAGING_ACCOUNT, arn=USER_ARN)


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def _actions(document: dict[str, Any], resource: str) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        resources = statement["Resource"]
        if resource in ([resources] if isinstance(resources, str) else resources):
            actions = statement["Action"]
            found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def _policies(**kwargs: Any) -> PolicySet:
    return build_policies(kwargs.pop("dest", DEST), kwargs.pop("principal", USER), **kwargs)


def test_bucket_policy_grants_the_copier_what_copies_need_on_the_destination_only() -> None:
    policies = _policies(staging=STAGING)
    assert policies.bucket_policy is not None
    document = policies.bucket_policy.document()
    assert _actions(document, "arn:aws:s3:::archive-dest/*") == {
        "s3:PutObject",
        "s3:PutObjectAcl",
        "s3:PutObjectTagging",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    assert _actions(document, "arn:aws:s3:::archive-dest") == {
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",  # finding uploads a crash left behind
    }
    assert all(s["Principal"] == {"AWS": USER_ARN} for s in document["Statement"])
    assert all(s["Effect"] == "Allow" for s in document["Statement"])
    assert "globus-staging" not in json.dumps(document)


def test_iam_policy_reads_staging_and_writes_destination() -> None:
    document = _policies(staging=STAGING).iam_policy.document()
    assert _actions(document, "arn:aws:s3:::globus-staging/*") == {
        "s3:GetObject",
        "s3:GetObjectTagging",
    }
    assert _actions(document, "arn:aws:s3:::globus-staging") == {"s3:ListBucket"}
    assert "s3:PutObject" in _actions(document, "arn:aws:s3:::archive-dest/*")
    assert all("Principal" not in s for s in document["Statement"])


def test_delete_staging_adds_delete_object_on_staging_only() -> None:
    without = _policies(staging=STAGING).iam_policy.document()
    with_delete = _policies(staging=STAGING, delete_staging=True).iam_policy.document()
    assert "s3:DeleteObject" not in json.dumps(without)
    staged = _actions(with_delete, "arn:aws:s3:::globus-staging/*")
    # Conditional deletes (bound to the verified ETag) need s3:GetObject as well; a versioned
    # staging bucket's copied version is deleted by its id.
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"} <= set(staged)
    assert "s3:DeleteObject" not in _actions(with_delete, "arn:aws:s3:::archive-dest/*")


def test_no_acl_and_replaced_tags_drop_acl_and_tagging_permissions() -> None:
    dest = PolicyBucket("archive-dest", owner_account=DEST_ACCOUNT, acl=None, copies_tags=False)
    policies = _policies(dest=dest, staging=STAGING)
    assert policies.bucket_policy is not None
    text = json.dumps([policies.bucket_policy.document(), policies.iam_policy.document()])
    for action in ("s3:PutObjectAcl", "s3:PutObjectTagging", "s3:GetObjectTagging"):
        assert action not in text


def test_kms_destination_needs_generate_data_key_and_decrypt_on_the_full_key_arn() -> None:
    dest = PolicyBucket("archive-dest", owner_account=DEST_ACCOUNT, kms_key_arn=KEY_ARN)
    policies = _policies(dest=dest)
    assert _actions(policies.iam_policy.document(), KEY_ARN) == {
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }
    assert policies.key_policy is not None
    (statement,) = policies.key_policy.document()["Statement"]
    assert statement["Principal"] == {"AWS": USER_ARN}
    assert set(statement["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert policies.key_policy.attach_to == KEY_ARN
    assert "alias/" not in json.dumps(policies.as_dict())


def test_staging_key_is_only_used_to_decrypt() -> None:
    staging = PolicyBucket("globus-staging", kms_key_arn=STAGING_KEY_ARN)
    policies = _policies(staging=staging)
    assert _actions(policies.iam_policy.document(), STAGING_KEY_ARN) == {"kms:Decrypt"}
    assert policies.key_policy is None


def test_assumed_role_caller_is_matched_by_role_name_at_any_path() -> None:
    principal = copier_principal(
        account_id=STAGING_ACCOUNT,
        caller_arn=f"arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/copier/session-1",
        role_arn=None,
    )
    assert principal.block() == {"AWS": f"arn:aws:iam::{STAGING_ACCOUNT}:root"}
    patterns = principal.condition()["ArnLike"]["aws:PrincipalArn"]  # type: ignore[index]
    assert patterns == [
        f"arn:aws:iam::{STAGING_ACCOUNT}:role/copier",
        f"arn:aws:iam::{STAGING_ACCOUNT}:role/*/copier",
    ]
    policies = _policies(principal=principal)
    assert policies.bucket_policy is not None
    for statement in policies.bucket_policy.document()["Statement"]:
        assert statement["Condition"] == principal.condition()


def test_registered_role_arn_is_named_exactly() -> None:
    role = f"arn:aws:iam::{STAGING_ACCOUNT}:role/data/copier"
    principal = copier_principal(
        account_id=STAGING_ACCOUNT,
        caller_arn=f"arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/copier/s",
        role_arn=role,
    )
    assert principal.block() == {"AWS": role}
    assert principal.condition() is None


def test_iam_user_caller_is_named_exactly() -> None:
    principal = copier_principal(account_id=STAGING_ACCOUNT, caller_arn=USER_ARN, role_arn=None)
    assert principal == Principal(STAGING_ACCOUNT, "aws", USER_ARN)


def test_unknown_caller_grants_the_account_in_its_partition() -> None:
    principal = copier_principal(
        account_id=STAGING_ACCOUNT, caller_arn=None, role_arn=None, region="cn-north-1"
    )
    assert principal.block() == {"AWS": f"arn:aws-cn:iam::{STAGING_ACCOUNT}:root"}
    document = _policies(principal=principal).iam_policy.document()
    assert "s3:ListBucket" in _actions(document, "arn:aws-cn:s3:::archive-dest")


def test_same_account_destination_needs_no_bucket_policy() -> None:
    dest = PolicyBucket("own-bucket", owner_account=STAGING_ACCOUNT, kms_key_arn=STAGING_KEY_ARN)
    policies = _policies(dest=dest)
    assert policies.bucket_policy is None
    assert policies.key_policy is None
    assert any("no bucket policy is needed" in note for note in policies.notes)


def test_unknown_destination_owner_gets_a_bucket_policy_and_a_note() -> None:
    policies = _policies(dest=PolicyBucket("archive-dest"))
    assert policies.bucket_policy is not None
    assert any("--expected-owner" in note for note in policies.notes)


def test_every_statement_has_a_unique_sid_and_a_one_line_explanation() -> None:
    dest = PolicyBucket("archive-dest", owner_account=DEST_ACCOUNT, kms_key_arn=KEY_ARN)
    staging = PolicyBucket("globus-staging", kms_key_arn=STAGING_KEY_ARN)
    policies = _policies(dest=dest, staging=staging, delete_staging=True)
    for doc in policies.documents():
        sids = [s["Sid"] for s in doc.document()["Statement"]]
        assert len(sids) == len(set(sids))
        explanations = doc.explanations()
        assert set(explanations) == set(sids)
        assert all(why and "\n" not in why for why in explanations.values())


def test_json_form_carries_every_document_with_its_explanations() -> None:
    data = json.loads(json.dumps(_policies(staging=STAGING).as_dict()))
    assert data["destination_bucket"] == "archive-dest"
    assert data["staging_bucket"] == "globus-staging"
    assert data["principal"]["policy_principal"] == {"AWS": USER_ARN}
    assert data["kms_key_policy"] is None
    for key in ("bucket_policy", "iam_policy"):
        section = data[key]
        assert section["document"]["Version"] == "2012-10-17"
        assert set(section["explanations"]) == {s["Sid"] for s in section["document"]["Statement"]}
        assert section["attach_to"] and section["summary"]


def test_a_prefix_scopes_every_destination_statement_to_keys_below_it() -> None:
    scoped = PolicyBucket("archive-dest", owner_account=DEST_ACCOUNT, prefix="u/alice/")
    policies = _policies(dest=scoped, staging=STAGING)
    assert policies.bucket_policy is not None
    for document in (policies.bucket_policy.document(), policies.iam_policy.document()):
        dest = [s for s in document["Statement"] if "archive-dest" in json.dumps(s["Resource"])]
        for statement in dest:
            resource = statement["Resource"]
            if resource.endswith("archive-dest"):  # bucket-level: listing, limited by prefix
                listing = statement["Action"] == "s3:ListBucket"
                condition = statement.get("Condition", {}).get("StringLike")
                assert condition == ({"s3:prefix": ["u/alice/*"]} if listing else None)
            else:
                assert resource == "arn:aws:s3:::archive-dest/u/alice/*"
    explained = policies.bucket_policy.explanations()["AwsCopyPtFindStrayUploads"]
    assert "cannot limit this action to a prefix" in explained
    assert any("only below" in why for why in policies.bucket_policy.explanations().values())
    assert any("--no-check" in note for note in policies.notes)


def test_a_scoped_policy_for_an_assumed_role_requires_both_conditions() -> None:
    role = copier_principal(
        account_id=STAGING_ACCOUNT,
        caller_arn=f"arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/copier/session",
        role_arn=None,
    )
    scoped = PolicyBucket("archive-dest", owner_account=DEST_ACCOUNT, prefix="u/alice/")
    policies = _policies(dest=scoped, principal=role)
    assert policies.bucket_policy is not None
    listing = _statements(policies.bucket_policy.document())["AwsCopyPtFindBucket"]
    assert set(listing["Condition"]) == {"StringLike", "ArnLike"}
