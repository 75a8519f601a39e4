"""AWS credentials: a profile from ~/.aws, or keys typed with hidden input; checked with STS.

Each typed answer is checked at its own prompt: a malformed access key id is refused before
the secret is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from aws_copy_pt.core.credentials import check_access_key_id, check_credential_name
from aws_copy_pt.services.setup.choices import aws_profiles
from aws_copy_pt.services.setup.credentials import (
    CredentialInfo,
    NewCredential,
    add_credential,
    update_credential,
)
from aws_copy_pt.services.setup.credentials import list_credentials as registered_credentials
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.ui import BACK, Option, walk

DEFAULT_KEYS_NAME = "aws-keys"


def run(wizard: Wizard) -> Outcome:
    wizard.ui.say("These credentials read the staging bucket and write into the destination.")
    while True:
        name = choose(wizard, offer_registered=True)
        if name is BACK:
            return Outcome.BACK
        if name is not None:
            wizard.picks.credential = str(name)
            return Outcome.NEXT


def choose(wizard: Wizard, *, offer_registered: bool) -> object:
    """A credential's name (registered now or before), None after a refusal, or BACK."""
    with wizard.app.session() as session:
        credentials = registered_credentials(session) if offer_registered else []
        profiles = [p.name for p in aws_profiles(session) if p.registered_as is None]
    options = [Option(f"Use {c.name}: {identity(c)}", ("use", c.name)) for c in credentials]
    options += [Option(f"AWS profile {name}", ("profile", name)) for name in profiles]
    options.append(Option("Type an access key (the secret stays hidden)", ("keys", "")))
    pick = wizard.ui.select(
        "Which AWS credentials should aws-copy-pt use?",
        options,
        default=("use", wizard.picks.credential),
    )
    if pick is BACK:
        return BACK
    kind, value = pick
    return value if kind == "use" else add_interactively(wizard, profile=value or None)


def add_interactively(wizard: Wizard, *, profile: str | None) -> str | None:
    """Register a profile (``profile``) or typed keys; the new credential's name, or None."""
    new = NewCredential(name=profile, profile=profile) if profile else _ask_keys(wizard)
    if new is None:
        return None
    info = _stored_after_sts(wizard, add_credential, new)
    if info is None:
        return None
    wizard.ui.ok(f"{info.name}: {identity(info)}")
    return info.name


def update_interactively(wizard: Wizard, name: str) -> None:
    """Replace the keys of credential ``name`` (after a rotation), checked with STS first."""
    new = _ask_keys(wizard, name=name)
    if new is None:
        return
    info = _stored_after_sts(wizard, update_credential, new)
    if info is not None:
        wizard.ui.ok(f"{info.name} has new keys: {identity(info)}")


def _stored_after_sts(
    wizard: Wizard, store: Callable[..., CredentialInfo], new: NewCredential
) -> CredentialInfo | None:
    """``store`` (add or update) ``new`` once STS says whose it is; None after a refusal."""
    factory = wizard.factory()

    def run() -> CredentialInfo:
        with wizard.app.session() as session:
            return store(session, new, verify_with=factory)

    wizard.ui.say("Asking AWS STS who these credentials are…")
    return wizard.attempt(run)


def identity(info: CredentialInfo) -> str:
    if info.account_id is None:
        return "not checked yet"
    return f"{info.caller_arn} (account {info.account_id})"


@dataclass
class _Keys:
    access_key_id: str = ""
    secret: str = ""
    token: str = ""
    name: str = DEFAULT_KEYS_NAME


def _ask_keys(wizard: Wizard, *, name: str | None = None) -> NewCredential | None:
    """Keys typed at hidden prompts; ``name`` when they replace a credential's keys."""
    ui = wizard.ui
    keys = _Keys(name=name or DEFAULT_KEYS_NAME)

    def key_id() -> bool:
        while True:  # checked here, before the secret is asked
            answer = ui.text("Access key id (AKIA… or ASIA…)", default=keys.access_key_id)
            if answer is None:
                keys.access_key_id = ""
                return False
            # A refused answer is not offered again as the default: it may be the secret.
            if ui.accepts(partial(check_access_key_id, answer, asked_as="the access key id")):
                keys.access_key_id = answer
                return True

    def secret() -> bool:
        keys.secret = ui.secret("Secret access key (hidden; empty: back)")
        return bool(keys.secret)

    def token() -> bool:
        keys.token = ui.secret("Session token (hidden; only for ASIA… keys, else empty)")
        return True

    def ask_name() -> bool:
        while True:
            answer = ui.text("A name for these credentials", default=keys.name)
            keys.name = answer or DEFAULT_KEYS_NAME
            if answer is None:
                return False
            if ui.accepts(partial(check_credential_name, answer)):
                return True

    if not walk([key_id, secret, token] if name else [key_id, secret, token, ask_name]):
        return None
    return NewCredential(
        name=keys.name,
        access_key_id=keys.access_key_id,
        secret_access_key=keys.secret,
        session_token=keys.token or None,
    )
