"""``python -m aws_copy_pt.sandbox.s3control``: the S3 Control stand-in as a process of its own.

For benchmarks and manual trials: its job runners' CPU (a HEAD and a CopyObject per task) is
then not counted as the CPU of the aws-copy-pt process that creates and follows the jobs.
The role's credentials come from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, optionally ``AWS_SESSION_TOKEN``). The first line on stdout is JSON:
``{"url": ..., "env": {...}, "role_arn": ...}``; the stand-in serves until stdin closes, then
prints a second JSON line with the requests it answered, by operation, and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

from aws_copy_pt.sandbox.s3server import DEFAULT_REGION, Account

from .jobs import Settings
from .standin import S3ControlStandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aws_copy_pt.sandbox.s3control")
    parser.add_argument("--s3-endpoint-url", required=True, help="the S3 server jobs copy on")
    parser.add_argument("--account-id", required=True, help="the batch role's account")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--workers", type=int, default=Settings.workers, help="copies per job")
    parser.add_argument("--max-copy-bytes", type=int, default=Settings.max_copy_bytes)
    args = parser.parse_args(argv)
    account = Account(
        name="role",
        account_id=args.account_id,
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )
    settings = Settings(max_copy_bytes=args.max_copy_bytes, workers=args.workers)
    with S3ControlStandIn(args.s3_endpoint_url, region=args.region, settings=settings) as standin:
        role = standin.register_role(account)
        _say({"url": standin.url, "env": standin.env(), "role_arn": role})
        sys.stdin.read()  # serve until the parent closes our stdin
        answered = Counter(record.operation for record in standin.requests)
    _say({"requests": dict(answered)})
    return 0


def _say(document: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
