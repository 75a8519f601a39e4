"""Globus tokens in aws-copy-pt's own database (table ``globus_tokens``), not in ~/.globus.

The SDK's ``UserApp`` reads and writes tokens through this storage; a refreshed access token is
written back at once, so a daemon and a terminal command sharing one home see the same login.
Each operation is its own short transaction. Every token read or written is registered with the
log redactor so it can never be printed.
"""

from __future__ import annotations

from collections.abc import Mapping

from globus_sdk.token_storage import TokenStorage, TokenStorageData
from sqlalchemy import delete, select

from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import GlobusToken
from aws_copy_pt.log import register_secret


class DatabaseTokenStorage(TokenStorage):
    """A ``TokenStorage`` on the ``globus_tokens`` table, partitioned by ``namespace``."""

    def __init__(self, db: Database, namespace: str) -> None:
        super().__init__(namespace=namespace)
        self._db = db

    def store_token_data_by_resource_server(
        self, token_data_by_resource_server: Mapping[str, TokenStorageData]
    ) -> None:
        with self._db.session() as session:
            for resource_server, data in token_data_by_resource_server.items():
                register_secret(data.access_token)
                register_secret(data.refresh_token)
                row = session.get(GlobusToken, (self.namespace, resource_server))
                if row is None:
                    row = GlobusToken(namespace=self.namespace, resource_server=resource_server)
                    session.add(row)
                # A refresh answer without a refresh token must not erase the one we keep.
                refresh_token = data.refresh_token or row.refresh_token
                row.identity_id = data.identity_id
                row.scope = data.scope
                row.access_token = data.access_token
                row.refresh_token = refresh_token
                row.expires_at_seconds = data.expires_at_seconds
                row.token_type = data.token_type
                row.extra = dict(data.extra) or None

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        with self._db.session() as session:
            rows = session.scalars(
                select(GlobusToken).where(GlobusToken.namespace == self.namespace)
            ).all()
        result = {}
        for row in rows:
            register_secret(row.access_token)
            register_secret(row.refresh_token)
            result[row.resource_server] = TokenStorageData(
                resource_server=row.resource_server,
                identity_id=row.identity_id,
                scope=row.scope,
                access_token=row.access_token,
                refresh_token=row.refresh_token,
                expires_at_seconds=row.expires_at_seconds,
                token_type=row.token_type,
                extra=dict(row.extra or {}),
            )
        return result

    def remove_token_data(self, resource_server: str) -> bool:
        with self._db.session() as session:
            result = session.execute(
                delete(GlobusToken).where(
                    GlobusToken.namespace == self.namespace,
                    GlobusToken.resource_server == resource_server,
                )
            )
        return bool(getattr(result, "rowcount", 0))
