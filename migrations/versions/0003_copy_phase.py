"""transfers.copy_bytes and copy_seconds: the latest copy phase, for the copy rate

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 15:50:00.000000

`status` showed bytes over the transfer's whole age (the Globus wait included). The copy rate
comes from each object's copy and verification times; summing them for every transfer on every
`status` costs a second per million objects, so a copy run stores its phase's figures when it
ends. Existing transfers are filled in here, once, with the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The phase starts at the latest move into LISTING or COPYING from another state; its objects
# are the verified ones started since. (Frozen here: revisions must not import app code.)
BACKFILL = """
UPDATE transfers SET (copy_bytes, copy_seconds) = (
    SELECT sum(o.size),
           (julianday(max(o.finished_at)) - julianday(min(o.started_at))) * 86400.0
    FROM object_copies AS o
    WHERE o.transfer_id = transfers.id
      AND o.state = 'verified'
      AND o.started_at IS NOT NULL
      AND o.started_at >= coalesce(
          (SELECT max(e.at) FROM events AS e
           WHERE e.transfer_id = transfers.id AND e.kind = 'state'
             AND e.to_state IN ('LISTING', 'COPYING')
             AND (e.from_state IS NULL OR e.from_state != 'LISTING')),
          '')
)
WHERE objects_total > 0
"""


def upgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("copy_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("copy_seconds", sa.Float(), nullable=True))
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("copy_seconds")
        batch.drop_column("copy_bytes")
