"""A process that runs one copy of a transfer, for tests that kill it (``kill -9``) mid-object.

``python -m tests.reliability.stream_child HOME TRANSFER_ID``
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.home.paths import Home
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.services.copy import copy_transfer


def main(home: str, transfer_id: str) -> None:
    db = open_database(Home(Path(home)))
    copy_transfer(db, ClientFactory(), int(transfer_id), concurrency=2)


if __name__ == "__main__":
    main(*sys.argv[1:])
