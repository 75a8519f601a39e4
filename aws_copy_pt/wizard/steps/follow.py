"""Offered at the "which task" question: follow every new task into a staging collection.

It makes the rule `aws-copy-pt follow add` makes (same service, same checks), into the bucket
and prefix already chosen; optionally only a Globus Timer's runs. Nothing is watched yet: the
daemon or `run --once` registers each task as it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_copy_pt.services.setup.collections import list_collections
from aws_copy_pt.services.watch.follow_rules import RuleRequest, RuleView, add_rule
from aws_copy_pt.wizard.context import Wizard
from aws_copy_pt.wizard.ui import BACK, Option

if TYPE_CHECKING:
    from aws_copy_pt.globus.gateway import TimersClient


def offer_rule(wizard: Wizard, bucket: str, prefix: str) -> RuleView | None:
    """Ask which collection (and timer) to follow and add the rule; None: back."""
    collection = _collection(wizard)
    if collection is None:
        return None
    name = wizard.ui.text("Name of the rule", default=f"follow-{bucket}"[:100])
    if name is None:
        return None
    timer = wizard.ui.optional_text(
        "Only the runs of a Globus Timer? Its id",
        instruction="(empty: every new task into the collection)",
    )
    request = RuleRequest(
        name=name, collection=collection, to=f"{bucket}/{prefix}", timer=timer or None
    )
    db = wizard.app.database()

    def timers_client() -> TimersClient:
        from aws_copy_pt.globus.clients import batch_timers_client

        return batch_timers_client(db, env=wizard.app.env)

    added = wizard.attempt(lambda: add_rule(db, request, timers_client=timers_client))
    if added is None:
        return None
    rule = added.rule
    wizard.ui.ok(
        f"Follow rule {rule.name}: every new task into {rule.collection_name or rule.collection_id}"
        + (f" from timer {rule.timer_id}" if rule.timer_id else "")
        + f" is copied to s3://{rule.destination}."
    )
    for note in rule.shadowed_by:
        wizard.ui.warn(f"Rule {note.rule}, created earlier, takes the tasks both match.")
    if added.needs_timers_login:
        wizard.ui.warn("Run `aws-copy-pt login` again to allow Globus Timers for this rule.")
    return rule


def _collection(wizard: Wizard) -> str | None:
    with wizard.app.session() as session:
        collections = list_collections(session)
    if not collections:
        wizard.ui.warn("Register a staging collection first (`aws-copy-pt collection add`).")
        return None
    if len(collections) == 1:
        return collections[0].collection_id
    picked = wizard.ui.select(
        "Follow new tasks into which staging collection?",
        [Option(c.display_name or c.collection_id, c.collection_id) for c in collections],
        default=wizard.picks.collection,
    )
    return None if picked is BACK else str(picked)
