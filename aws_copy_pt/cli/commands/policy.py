"""`aws-copy-pt policy --bucket DEST`: the policies the destination owner must attach."""

from __future__ import annotations

import json

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app


@click.command(short_help="Print the least-privilege policies a destination needs.")
@click.option("--bucket", "destination", required=True, metavar="DEST", help="Destination bucket.")
@click.option("--staging", metavar="BUCKET", help="Staging bucket the copies read from.")
@click.option(
    "--delete-staging", is_flag=True, help="Include deleting staged objects after verification."
)
@pass_app
def command(app: AppContext, destination: str, staging: str | None, delete_staging: bool) -> None:
    """Print the bucket policy the owner of DEST must attach so that the registered copying
    principal (from `aws-copy-pt aws check`) may write there, the IAM policy for that
    principal, and, for SSE-KMS, the key policy statement. Each statement has a one-line
    reason. Nothing is sent anywhere.

    \b
    Examples:
      aws-copy-pt policy --bucket archive-dest
      aws-copy-pt policy --bucket archive-dest --staging globus-staging --delete-staging
      aws-copy-pt --json policy --bucket archive-dest > policies.json
    """
    from aws_copy_pt.services.setup.policies import policies_for

    with app.session() as session:
        policies = policies_for(
            session, destination, staging=staging, delete_staging=delete_staging
        )
    if app.json_output:
        render.emit_json(app, policies.as_dict())
        return
    out = render.console(app)
    out.print(f"Copies into {destination} run as {policies.principal.display}.", markup=False)
    for number, doc in enumerate(policies.documents(), start=1):
        out.print()
        out.print(f"{number}. {_title(doc.kind)} for {doc.attach_to}", markup=False)
        out.print(f"   {doc.summary}", markup=False)
        for sid, why in doc.explanations().items():
            out.print(f"   - {sid}: {why}", markup=False, soft_wrap=True)
        out.print(json.dumps(doc.document(), indent=2), markup=False, soft_wrap=True)
    if policies.notes:
        out.print()
        out.print("Notes:")
        for note in policies.notes:
            out.print(f"  - {note}", markup=False)


def _title(kind: str) -> str:
    return {
        "bucket-policy": "Bucket policy",
        "iam-policy": "IAM policy",
        "kms-key-policy-statements": "KMS key policy statement",
    }[kind]
