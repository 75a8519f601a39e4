"""`aws-copy-pt policy --bucket DEST`: the policies the destination owner must attach."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from aws_copy_pt.core.policy import PolicyDocument


@click.command(short_help="Print the least-privilege policies a destination needs.")
@click.option("--bucket", "destination", required=True, metavar="DEST", help="Destination bucket.")
@click.option("--staging", metavar="BUCKET", help="Staging bucket the copies read from.")
@click.option(
    "--prefix", default="", metavar="PREFIX", help="Grant only keys below PREFIX (e.g. u/alice/)."
)
@click.option(
    "--account", metavar="ID", help="Account id of DEST's owner (for a bucket not registered yet)."
)
@click.option(
    "--credentials",
    "credential",
    metavar="C",
    help="Credential that will copy (for a bucket not registered yet).",
)
@click.option(
    "--delete-staging", is_flag=True, help="Include deleting staged objects after verification."
)
@click.option(
    "--engine",
    type=click.Choice(["local", "batch"]),
    default="local",
    show_default=True,
    help="batch: the S3 Batch Operations role, its trust, the job creator's permissions.",
)
@click.option(
    "--batch-role",
    metavar="ARN",
    help="The batch role to write the policies for (default: the one registered for DEST).",
)
@pass_app
def command(
    app: AppContext,
    destination: str,
    staging: str | None,
    prefix: str,
    account: str | None,
    credential: str | None,
    delete_staging: bool,
    engine: str,
    batch_role: str | None,
) -> None:
    """Print the bucket policy the owner of DEST must attach so that the copying principal
    (from `aws-copy-pt aws check`) may write there, the IAM policy for that principal, and,
    for SSE-KMS, the key policy statement. Each statement has a one-line reason. Nothing is
    sent anywhere.

    DEST need not be registered yet: its owner may not have granted access, so `bucket add`
    would be refused. Then name the owner's account with --account and the credential that
    will copy with --credentials (default: --staging's, or the only one registered).

    With --prefix every statement covers only keys below PREFIX: object ARNs DEST/PREFIX*,
    and listing with an s3:prefix condition (watch and submit must then copy below it).

    With --engine batch: the batch role's trust policy (S3 Batch Operations may assume it)
    and permissions (read staging, write copies and reports, read manifests, KMS), what the
    job creator needs (s3:CreateJob, s3:DescribeJob, s3:UpdateJobStatus, iam:PassRole on the
    role), and the bucket policies the staging (and, if the role is in another account, the
    destination) owner attaches.

    \b
    Examples:
      aws-copy-pt policy --bucket archive-dest
      aws-copy-pt policy --bucket archive-dest --account 222222222222 --staging globus-staging
      aws-copy-pt policy --bucket archive-dest --prefix u/alice/ --delete-staging
      aws-copy-pt policy --bucket archive-dest --engine batch \\
          --batch-role arn:aws:iam::222222222222:role/aws-copy-pt-batch
      aws-copy-pt --json policy --bucket archive-dest > policies.json
    """
    if engine == "batch":
        _batch(app, destination, staging, batch_role)
        return
    from aws_copy_pt.services.setup.policies import PolicyRequest, build_for

    request = PolicyRequest(
        destination,
        staging=staging,
        delete_staging=delete_staging,
        prefix=prefix,
        account=account,
        credential=credential,
    )
    with app.session() as session:
        policies = build_for(session, request)
    if app.json_output:
        render.emit_json(app, policies.as_dict())
        return
    out = render.console(app)
    where = f"{destination}/{policies.destination.prefix}".rstrip("/")
    out.print(render.plain(f"Copies into {where} run as {policies.principal.display}."))
    _print_documents(app, policies.documents(), policies.notes)


def _batch(app: AppContext, destination: str, staging: str | None, role: str | None) -> None:
    from aws_copy_pt.services.setup.batch_policies import batch_policies_for

    with app.session() as session:
        policies = batch_policies_for(session, destination, staging=staging, role_arn=role)
    if app.json_output:
        render.emit_json(app, policies.as_dict())
        return
    out = render.console(app)
    out.print(
        render.plain(
            f"Batch copies into {destination} run as {policies.role_arn}; "
            f"{policies.caller.display} creates the jobs."
        )
    )
    _print_documents(app, policies.documents(), policies.notes)


def _print_documents(
    app: AppContext, documents: list[PolicyDocument], notes: tuple[str, ...]
) -> None:
    out = render.console(app)
    for number, doc in enumerate(documents, start=1):
        out.print()
        out.print(render.plain(f"{number}. {_title(doc.kind)} for {doc.attach_to}"))
        out.print(render.plain(f"   {doc.summary}"))
        for sid, why in doc.explanations().items():
            out.print(render.plain(f"   - {sid}: {why}"))
        out.print(render.plain_lines(json.dumps(doc.document(), indent=2)))
    if notes:
        out.print()
        out.print(render.plain("Notes:"))
        for note in notes:
            out.print(render.plain(f"  - {note}"))


def _title(kind: str) -> str:
    return {
        "bucket-policy": "Bucket policy",
        "iam-policy": "IAM policy",
        "kms-key-policy-statements": "KMS key policy statement",
        "trust-policy": "Trust policy",
    }[kind]
