"""`aws-copy-pt notify`: where to announce finished, failed or stuck transfers."""

from __future__ import annotations

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.messages import DEFAULT_EVENTS, NOTIFIABLE_STATES, format_events
from aws_copy_pt.errors import UsageError
from aws_copy_pt.log import register_secret
from aws_copy_pt.notify.base import DEFAULT_SENDMAIL
from aws_copy_pt.secrecy import SMTP_PASSWORD_ENV as PASSWORD_ENV

# Options that only make sense for email; given with --webhook they are a mistake.
EMAIL_ONLY = (
    "smtp_host",
    "smtp_port",
    "smtp_user",
    "password_stdin",
    "starttls",
    "implicit_tls",
    "smtp_cafile",
    "from_address",
    "sendmail",
)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
COLUMNS = ("Name", "Kind", "Target", "On", "Delivery", "Queued", "Last error")


@click.group(short_help="Email or webhook messages when transfers finish or need you.")
def command() -> None:
    """Announce transfer outcomes by email or webhook (Slack, Mattermost, any HTTP receiver).

    Messages are queued when a transfer reaches a state a target subscribes to (--on) and sent
    by the daemon or `run --once`; a failed delivery is retried with back-off for two days and
    never stops a transfer.

    \b
    Examples:
      aws-copy-pt notify add me --email me@example.org --sendmail
      aws-copy-pt notify add team --webhook https://hooks.slack.com/services/T0/B0/XXXX
      aws-copy-pt notify test me
    """


@command.command("add", short_help="Register an email address or webhook URL.")
@click.argument("name")
@click.option("--email", metavar="ADDR", help="Send mail to ADDR (several: comma-separated).")
@click.option("--webhook", metavar="URL", help="POST JSON with a Slack-compatible text to URL.")
@click.option("--smtp-host", metavar="HOST", help="SMTP server that relays the mail.")
@click.option(
    "--smtp-port",
    type=int,
    default=587,
    show_default=True,
    help="SMTP port: 587 submission with STARTTLS, 465 submission with implicit TLS.",
)
@click.option("--smtp-user", metavar="USER", help="Log in to the SMTP server as USER.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help=f"Read the SMTP password from stdin [else env {PASSWORD_ENV}, else a hidden prompt].",
)
@click.option(
    "--starttls/--no-starttls",
    default=True,
    show_default=True,
    help="Encrypt the SMTP connection with STARTTLS (turn off only on a trusted network).",
)
@click.option(
    "--implicit-tls/--no-implicit-tls",
    default=None,
    help="Speak TLS from the first byte (SMTPS) instead of STARTTLS [default: on for port 465].",
)
@click.option(
    "--smtp-cafile",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Trust the CA certificate(s) in this PEM file for TLS (a private mail server).",
)
@click.option("--from", "from_address", metavar="ADDR", help="Sender address of the mail.")
@click.option(
    "--sendmail",
    is_flag=False,
    flag_value=DEFAULT_SENDMAIL,
    default=None,
    metavar="[PATH]",
    help=f"Hand mail to the local mail agent instead of SMTP [PATH: {DEFAULT_SENDMAIL}].",
)
@click.option(
    "--on",
    "events",
    metavar="STATES",
    help=f"Comma list of transfer states to announce, from {format_events(NOTIFIABLE_STATES)} "
    f"[default: {format_events(DEFAULT_EVENTS)}].",
)
@click.option("--timeout", type=float, metavar="SECONDS", help="Give up one attempt after this.")
@click.option("--replace", is_flag=True, help="Change an existing target; its queue is kept.")
@pass_app
def add(
    app: AppContext,
    name: str,
    email: str | None,
    webhook: str | None,
    smtp_host: str | None,
    smtp_port: int,
    smtp_user: str | None,
    password_stdin: bool,
    starttls: bool,
    implicit_tls: bool | None,
    smtp_cafile: str | None,
    from_address: str | None,
    sendmail: str | None,
    events: str | None,
    timeout: float | None,
    replace: bool,
) -> None:
    """Register notification target NAME: an email address or a webhook URL.

    SMTP goes out encrypted: STARTTLS on the submission port 587 (the default), implicit TLS
    on port 465 (or any port with --implicit-tls); --smtp-cafile trusts a private CA for
    either. The SMTP password never goes on the command line: pipe it with --password-stdin, set
    AWS_COPY_PT_SMTP_PASSWORD, or type it at the hidden prompt. It is stored in the private
    database and never shown.

    \b
    Examples:
      aws-copy-pt notify add me --email me@uni.edu --sendmail
      aws-copy-pt notify add me --email me@uni.edu --smtp-host smtp.uni.edu --smtp-user me
      aws-copy-pt notify add me --email me@uni.edu --smtp-host smtp.uni.edu --smtp-port 465 \\
          --smtp-user me --smtp-cafile /etc/pki/uni-ca.pem
      printf '%s\\n' "$PW" | aws-copy-pt notify add me --email me@uni.edu \\
          --smtp-host smtp.uni.edu --smtp-user me --password-stdin --on FAILED,NEEDS_LOGIN
      aws-copy-pt notify add team --webhook https://hooks.slack.com/services/T0/B0/XXXX
    """
    from aws_copy_pt.notify.mail import EmailSettings
    from aws_copy_pt.services.notify import TargetRequest, add_target

    kind, address = _kind_and_address(email, webhook)
    settings = EmailSettings()
    if kind == "email":
        password = _smtp_password(app, smtp_user, password_stdin)
        settings = EmailSettings(
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            smtp_user=smtp_user,
            smtp_password=password,
            starttls=starttls,
            implicit_tls=implicit_tls,
            smtp_cafile=smtp_cafile,
            from_address=from_address,
            sendmail_path=sendmail,
        )
        if password and not starttls and smtp_host not in LOOPBACK_HOSTS:
            render.note(app, f"warning: the SMTP password goes to {smtp_host} unencrypted")
    request = TargetRequest(name, kind, address, events, settings, timeout)
    with app.session() as session:
        info = add_target(session, request, replace=replace)
    if app.json_output:
        render.emit_json(app, info)
        return
    verb = "Saved" if replace else "Added"
    render.info(app, f"{verb} {info.kind} target {info.name}: {info.target} ({info.delivery}).")
    render.info(app, f"It announces {', '.join(info.events)}.")
    render.info(app, f"Check that it works: aws-copy-pt notify test {info.name}")


@command.command("list", short_help="Show notification targets and their queues.")
@pass_app
def list_(app: AppContext) -> None:
    """Show every notification target, what it announces, and messages waiting to go out.

    \b
    Examples:
      aws-copy-pt notify list
      aws-copy-pt --json notify list
    """
    from aws_copy_pt.services.notify import list_targets

    with app.session() as session:
        targets = list_targets(session)
    render.listing(
        app,
        "targets",
        targets,
        empty="No notification targets. Add one with `aws-copy-pt notify add`.",
        columns=COLUMNS,
        row=lambda t: (
            t.name,
            t.kind,
            t.target,
            ",".join(t.events),
            t.delivery,
            t.queued,
            t.last_error,
        ),
    )


@command.command("remove", short_help="Remove a notification target.")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Remove notification target NAME, and drop the messages still queued for it.

    \b
    Example:
      aws-copy-pt notify remove team
    """
    from aws_copy_pt.services.notify import remove_target

    with app.session() as session:
        dropped = remove_target(session, name)
    if app.json_output:
        render.emit_json(app, {"removed": name, "dropped_messages": dropped})
        return
    suffix = f"; {dropped} queued message(s) dropped" if dropped else ""
    render.info(app, f"Removed notification target {name}{suffix}.")


@command.command("test", short_help="Send a test message to a target now.")
@click.argument("name")
@pass_app
def test(app: AppContext, name: str) -> None:
    """Send a test message to target NAME right away, and say exactly why if it fails.

    \b
    Example:
      aws-copy-pt notify test me
    """
    from aws_copy_pt.services.notify import send_test

    with app.session() as session:
        info = send_test(session, name)
    if app.json_output:
        render.emit_json(app, {"sent": True, "target": info})
        return
    render.info(app, f"Sent a test message to {info.name}: {info.target} ({info.delivery}).")
    if info.queued:
        render.note(
            app,
            f"{info.queued} message(s) for {info.name} wait in the queue; the daemon or "
            "`aws-copy-pt run --once` sends them on its next pass.",
        )


def _kind_and_address(email: str | None, webhook: str | None) -> tuple[str, str]:
    if bool(email) == bool(webhook):
        raise UsageError(
            "give exactly one of --email ADDR or --webhook URL",
            hint="one target per name; add another name for a second channel",
        )
    if email:
        return "email", email
    ctx = click.get_current_context()
    given = [
        "/".join(param.opts + param.secondary_opts)
        for param in ctx.command.params
        if param.name in EMAIL_ONLY
        and ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to --email targets",
            hint="a webhook target takes --webhook URL, --on and --timeout",
        )
    return "webhook", str(webhook)


def _smtp_password(app: AppContext, user: str | None, from_stdin: bool) -> str | None:
    """The SMTP password from stdin, the environment or a hidden prompt; never from argv."""
    if from_stdin and not user:
        raise UsageError("--password-stdin needs --smtp-user", hint="add --smtp-user USER")
    if not user:
        return None
    if from_stdin:
        password = app.stdin.readline().rstrip("\r\n")
    elif app.env.get(PASSWORD_ENV):
        password = app.env[PASSWORD_ENV]
    elif app.interactive:
        password = click.prompt(f"SMTP password for {user}", hide_input=True, err=True)
    else:
        raise UsageError(
            f"the SMTP password for {user} is needed and there is no terminal to ask it",
            hint=f"pipe it with --password-stdin, or set {PASSWORD_ENV}",
        )
    if not password:
        raise UsageError("the SMTP password is empty", hint="give the password of the SMTP user")
    register_secret(password)
    return password
