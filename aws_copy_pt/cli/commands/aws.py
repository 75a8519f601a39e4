"""`aws-copy-pt aws add|list|update|remove|check`: the AWS credentials aws-copy-pt acts with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.errors import UsageError
from aws_copy_pt.log import register_secret

if TYPE_CHECKING:
    from aws_copy_pt.services.setup.credentials import CredentialInfo, NewCredential

from aws_copy_pt.secrecy import SECRET_ACCESS_KEY_ENV as SECRET_ENV
from aws_copy_pt.secrecy import SESSION_TOKEN_ENV as TOKEN_ENV

SAFE_CHANNELS = (
    "the hidden prompt (run it in a terminal), the AWS_COPY_PT_SECRET_ACCESS_KEY environment "
    "variable, or --secret-stdin (e.g. `pass show aws/staging | aws-copy-pt aws add staging "
    "--access-key-id AKIA... --secret-stdin`)"
)
# Options people try out of habit. They are accepted by the parser only to be refused.
ARGV_SECRET_OPTIONS = (
    "--secret-access-key",
    "--aws-secret-access-key",
    "--secret-key",
    "--secret",
    "--session-token",
)


@click.group(short_help="Register, list, check, update and remove AWS credentials.")
def command() -> None:
    """The AWS credentials aws-copy-pt acts with: a profile from ~/.aws, or stored keys,
    optionally plus a role to assume. Secrets are never shown and never taken from the
    command line.

    \b
    Examples:
      aws-copy-pt aws add staging --profile staging
      aws-copy-pt aws add staging --access-key-id AKIA... --secret-stdin < secret.txt
      aws-copy-pt aws list
      aws-copy-pt aws update staging --access-key-id AKIA... --secret-stdin < rotated.txt
    """


def _refuse_secret_in_argv(ctx: click.Context, param: click.Parameter, value: object) -> None:
    if value is None:
        return
    option = param.opts[0]
    raise UsageError(
        f"refusing {option} on the command line: arguments are visible to every user of this "
        "machine (`ps`) and stay in your shell history; consider the secret exposed and rotate it",
        hint=f"give the secret through {SAFE_CHANNELS}",
    )


def _argv_secret_guards(function: Any) -> Any:
    for option in ARGV_SECRET_OPTIONS:
        function = click.option(
            option,
            hidden=True,
            expose_value=False,
            is_eager=True,
            callback=_refuse_secret_in_argv,
        )(function)
    return function


def _sign_in_options(function: Any) -> Any:
    """The options of `aws add` and `aws update`: how the credential signs in."""
    options = (
        click.option(
            "--profile", metavar="P", help="Use AWS profile P from ~/.aws (nothing secret kept)."
        ),
        click.option(
            "--access-key-id", metavar="ID", help="Store this access key; the secret is asked."
        ),
        click.option(
            "--secret-stdin", is_flag=True, help="Read the secret access key from standard input."
        ),
        click.option("--role-arn", metavar="ARN", help="Assume this IAM role for every request."),
        click.option(
            "--external-id", metavar="ID", help="External id the role's trust policy wants."
        ),
    )
    for option in reversed(options):
        function = option(function)
    return _argv_secret_guards(function)


@command.command("add", short_help="Register a profile or an access key (secret never in argv).")
@click.argument("name")
@_sign_in_options
@click.option("--no-check", is_flag=True, help="Store without asking AWS STS who this is.")
@pass_app
def add(app: AppContext, /, name: str, no_check: bool, **sign_in: Any) -> None:
    """Register credentials as NAME, then ask AWS STS whose they are (unless --no-check).

    With --access-key-id the secret comes from a hidden prompt, the environment variable
    AWS_COPY_PT_SECRET_ACCESS_KEY, or standard input with --secret-stdin; never from the
    command line. Temporary keys also need AWS_COPY_PT_SESSION_TOKEN.

    \b
    Examples:
      aws-copy-pt aws add staging --profile staging
      aws-copy-pt aws add staging --access-key-id AKIAEXAMPLE1234567890
      aws-copy-pt aws add copier --profile staging --role-arn arn:aws:iam::111111111111:role/copy
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.credentials import add_credential

    new = _new_credential(app, name, **sign_in)
    with app.session() as session:
        info = add_credential(session, new, verify_with=None if no_check else ClientFactory())
    if app.json_output:
        render.emit_json(app, {"credential": info})
        return
    render.info(app, f"Registered AWS credential {info.name}: {_identity(info)}.")
    render.info(app, f"Next: aws-copy-pt bucket add BUCKET --credentials {info.name}")


@command.command("update", short_help="Store new keys (or a profile) for a credential in use.")
@click.argument("name")
@_sign_in_options
@click.option(
    "--no-check", is_flag=True, help="Store without asking AWS STS who this is (non-AWS stores)."
)
@pass_app
def update(app: AppContext, /, name: str, no_check: bool, **sign_in: Any) -> None:
    """Replace how credential NAME signs in - after a key rotation, say - keeping its name, so
    every bucket registered with it keeps working. The secret is read as for `aws add`; the
    role (and external id) stay unless --role-arn names another.

    AWS STS is asked first whose the new credentials are: if it refuses them, or they belong to
    another AWS account than the one recorded, nothing changes. With --no-check (for stores
    without STS, such as MinIO or Ceph) they are stored as given and the recorded account is
    cleared until `aws-copy-pt aws check NAME`.

    \b
    Examples:
      aws-copy-pt aws update lab-keys --access-key-id AKIAEXAMPLE1234567890
      pass show aws/lab | aws-copy-pt aws update lab-keys --access-key-id AKIA... --secret-stdin
      aws-copy-pt aws update lab --profile lab-admin
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.credentials import get_credential, update_credential

    with app.session() as session:
        get_credential(session, name)  # an unknown name fails before any secret is asked
    new = _new_credential(app, name, **sign_in)
    with app.session() as session:
        info = update_credential(session, new, verify_with=None if no_check else ClientFactory())
    if app.json_output:
        render.emit_json(app, {"credential": info})
        return
    render.info(app, f"Updated AWS credential {info.name}: {_identity(info)}.")
    if info.buckets:
        render.info(app, f"Buckets using it: {', '.join(info.buckets)}.")


def _new_credential(
    app: AppContext,
    name: str,
    *,
    profile: str | None,
    access_key_id: str | None,
    secret_stdin: bool,
    role_arn: str | None,
    external_id: str | None,
) -> NewCredential:
    """What the options of :func:`_sign_in_options` say, with the secret read safely."""
    from aws_copy_pt.services.setup.credentials import NewCredential

    secret = token = None
    if access_key_id is not None:
        secret = _read_secret(app, from_stdin=secret_stdin)
        token = app.env.get(TOKEN_ENV) or None
        register_secret(token)
    elif secret_stdin:
        raise UsageError(
            "--secret-stdin goes with --access-key-id, not --profile",
            hint="a profile's secret stays in ~/.aws: drop --secret-stdin",
        )
    return NewCredential(
        name=name,
        profile=profile,
        access_key_id=access_key_id,
        secret_access_key=secret,
        session_token=token,
        role_arn=role_arn,
        external_id=external_id,
    )


def _read_secret(app: AppContext, *, from_stdin: bool) -> str:
    if from_stdin:
        secret = app.stdin.readline().strip()
        if not secret:
            raise UsageError(
                "--secret-stdin: standard input held no secret",
                hint="pipe the secret access key in as the first line",
            )
    elif app.env.get(SECRET_ENV):
        secret = app.env[SECRET_ENV].strip()
    elif app.stdin.isatty():
        secret = click.prompt("Secret access key", hide_input=True, err=True).strip()
    else:
        raise UsageError("no secret access key given", hint=f"give it through {SAFE_CHANNELS}")
    register_secret(secret)
    return secret


@command.command("list", short_help="Show registered credentials (never their secrets).")
@pass_app
def list_(app: AppContext) -> None:
    """Show every registered credential: its kind, account, role and the buckets using it.

    \b
    Examples:
      aws-copy-pt aws list
      aws-copy-pt --json aws list
    """
    from aws_copy_pt.services.setup.credentials import list_credentials

    with app.session() as session:
        credentials = list_credentials(session)
    now = datetime.now(UTC)
    render.listing(
        app,
        "credentials",
        credentials,
        empty="No AWS credentials yet. Add one with `aws-copy-pt aws add NAME --profile P`.",
        columns=("Name", "Source", "Role", "Account", "Checked", "Buckets"),
        row=lambda c: (
            c.name,
            f"profile {c.profile}" if c.kind == "profile" else f"key {c.access_key_id}",
            c.role_arn or "-",
            c.account_id or "? (run aws check)",
            render.human_age((now - c.checked_at).total_seconds()) + " ago"
            if c.checked_at
            else "never",
            ", ".join(c.buckets) or "-",
        ),
    )


@command.command("remove", short_help="Forget a credential no bucket uses any more.")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Forget credential NAME (and its stored secret). Refused while a bucket uses it.

    \b
    Examples:
      aws-copy-pt aws remove old-keys
    """
    from aws_copy_pt.services.setup.credentials import remove_credential

    with app.session() as session:
        remove_credential(session, name)
    if app.json_output:
        render.emit_json(app, {"removed": name})
        return
    render.info(app, f"Removed AWS credential {name}.")


@command.command("check", short_help="Ask AWS STS who a credential is; remember the account.")
@click.argument("name")
@pass_app
def check(app: AppContext, name: str) -> None:
    """Call STS GetCallerIdentity as NAME (assuming its role, if any) and store the account id
    and caller ARN, which `aws-copy-pt policy` names in the policies it writes.

    \b
    Examples:
      aws-copy-pt aws check staging
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.credentials import check_credential

    with app.session() as session:
        info = check_credential(session, ClientFactory(), name)
    if app.json_output:
        render.emit_json(app, {"credential": info})
        return
    render.info(app, f"{info.name}: {_identity(info)}.")


def _identity(info: CredentialInfo) -> str:
    if info.account_id is None:
        return "not checked (run `aws-copy-pt aws check " + info.name + "`)"
    return f"{info.caller_arn} (account {info.account_id})"
