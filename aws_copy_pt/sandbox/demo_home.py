"""A kept demo home remembers its stand-ins, so its commands never reach the real services.

``aws-copy-pt demo --keep`` stores where its Globus stand-in and S3 server listen (the
``demo.servers`` setting) and keeps them serving until Ctrl-C. Every command run on that home
then points globus-sdk and STS at them (the S3 endpoint is in each bucket's registration
already): ``whoami``, ``tasks`` and ``status`` work as in the demo's hints. Once the demo has
ended the stand-ins are gone; the commands that need them fail with :class:`DemoStoppedError`
(exit 6) instead of asking the real Globus, while ``status`` and ``transfers show`` still read
the database.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Setting
from aws_copy_pt.errors import ConfigError

SETTING = "demo.servers"
PROBE_TIMEOUT_SECONDS = 2.0
AUTH_URL = "GLOBUS_SDK_SERVICE_URL_AUTH"


class DemoStoppedError(ConfigError):
    """A command needed the servers of a demo home, and the demo that ran them has ended."""

    def __init__(self) -> None:
        super().__init__(
            "this is a demo home whose servers have stopped: they ran inside "
            "`aws-copy-pt demo --keep`, which has ended",
            hint="`status` and `transfers show ID` still work here; for live stand-ins run "
            "`aws-copy-pt demo --keep` again and use the home it prints",
        )


@dataclass(frozen=True)
class DemoServers:
    """The environment that points the SDKs at a demo's stand-ins."""

    env: Mapping[str, str]

    def running(self) -> bool:
        """True when the Globus stand-in answers as the one this home was made with."""
        auth = self.env.get(AUTH_URL, "").rstrip("/")
        if not auth.startswith("http://127.0.0.1:"):
            return False
        try:
            with urllib.request.urlopen(  # noqa: S310 - a loopback http URL, checked above
                f"{auth}/.well-known/openid-configuration", timeout=PROBE_TIMEOUT_SECONDS
            ) as answer:
                issuer = json.loads(answer.read()).get("issuer", "")
        except (OSError, ValueError):
            return False
        return str(issuer).rstrip("/") == auth


def remember(db: Database, env: Mapping[str, str]) -> None:
    """Mark ``db``'s home as a demo home served through ``env`` (stand-in URLs)."""
    value = json.dumps(dict(env), sort_keys=True)
    with db.session() as session:
        row = session.get(Setting, SETTING)
        if row is None:
            session.add(Setting(key=SETTING, value=value))
        else:
            row.value = value


def demo_servers(db: Database) -> DemoServers | None:
    """The stand-ins of a demo home; None for every other home."""
    with db.session() as session:
        row = session.get(Setting, SETTING)
        return None if row is None else DemoServers(json.loads(row.value))
