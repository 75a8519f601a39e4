"""Email notifications through an SMTP server (TLS and login) or the local sendmail program.

HPC login nodes often block outgoing SMTP but run a local mail agent, hence ``sendmail``; laptops
and VMs usually relay through a provider's submission port: 587 with STARTTLS, or 465 with
implicit TLS (encrypted from the first byte, RFC 8314), which many institutions use.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import ssl
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from aws_copy_pt.errors import AwsCopyPtError, ConfigError, RemoteError, UsageError
from aws_copy_pt.notify.base import DEFAULT_SENDMAIL, Target, check_timeout
from aws_copy_pt.secrecy import without_secrets

DEFAULT_SMTP_PORT = 587
IMPLICIT_TLS_PORT = 465
_FORBIDDEN_IN_ADDRESS = frozenset(" \t\r\n,<>()[];:\"'")


@dataclass(frozen=True)
class EmailSettings:
    """How to deliver mail, as given to `notify add --email`; checked by :func:`email_options`."""

    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_user: str | None = None
    smtp_password: str | None = None
    starttls: bool = True
    implicit_tls: bool | None = None  # None: implicit TLS on port 465, STARTTLS elsewhere
    smtp_cafile: str | None = None
    from_address: str | None = None
    sendmail_path: str | None = None  # set: hand mail to this sendmail instead of SMTP

    def __repr__(self) -> str:  # never show the password
        return f"EmailSettings(smtp_host={self.smtp_host!r}, sendmail={self.sendmail_path!r})"


def parse_addresses(text: str) -> list[str]:
    """Comma-separated plain addresses (``a@example.org,b@example.org``); raise on anything odd."""
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    if not addresses:
        raise UsageError("no email address given", hint="e.g. --email you@example.org")
    for address in addresses:
        local, _, domain = address.rpartition("@")
        if not local or not domain or _FORBIDDEN_IN_ADDRESS & set(address):
            raise UsageError(
                f"{address!r} is not a plain email address",
                hint="give addresses like you@example.org, separated by commas",
            )
    return addresses


def email_options(
    address: str, settings: EmailSettings, *, timeout: float | None = None
) -> dict[str, Any]:
    """Validate ``settings`` for mail to ``address`` and return the options to store."""
    parse_addresses(address)
    if settings.from_address:
        parse_addresses(settings.from_address)
    options: dict[str, Any] = {"timeout": check_timeout(timeout)}
    if settings.from_address:
        options["from"] = settings.from_address
    if settings.sendmail_path:
        if settings.smtp_host or settings.smtp_user or settings.smtp_cafile:
            raise UsageError(
                "--sendmail and the --smtp-* options are two different ways out",
                hint="choose either --sendmail [PATH] or --smtp-host HOST",
            )
        return {**options, "transport": "sendmail", "sendmail_path": _found(settings.sendmail_path)}
    if not settings.smtp_host:
        raise UsageError(
            "email needs a way out: an SMTP server or the local sendmail",
            hint="add --smtp-host HOST (with --smtp-user for a login), or --sendmail",
        )
    if not 0 < settings.smtp_port < 65536:
        raise UsageError(f"--smtp-port {settings.smtp_port} is not a TCP port", hint="e.g. 587")
    if bool(settings.smtp_user) != bool(settings.smtp_password):
        raise UsageError(
            "an SMTP login needs both a user and a password",
            hint="give --smtp-user with a password (prompt, --password-stdin, or "
            "AWS_COPY_PT_SMTP_PASSWORD), or neither",
        )
    implicit = _implicit_tls(settings)
    options.update(
        transport="smtp",
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        starttls=settings.starttls and not implicit,
        implicit_tls=implicit,
    )
    if settings.smtp_user:
        options.update(smtp_user=settings.smtp_user, smtp_password=settings.smtp_password)
    if settings.smtp_cafile:
        options["smtp_cafile"] = _checked_cafile(
            settings.smtp_cafile, settings.starttls or implicit
        )
    return options


def _implicit_tls(settings: EmailSettings) -> bool:
    """Whether to speak TLS from the first byte: asked for, or on port 465 unless refused."""
    implicit = settings.implicit_tls
    if implicit is None:
        implicit = settings.smtp_port == IMPLICIT_TLS_PORT
    if implicit and not settings.starttls:
        raise UsageError(
            "--no-starttls turns encryption off, but implicit TLS encrypts the whole connection",
            hint="drop --no-starttls: port 465 and --implicit-tls are always encrypted "
            "(--no-implicit-tls --no-starttls for a plain relay on a network you trust)",
        )
    return implicit


def describe_email(target: Target) -> str:
    """One line saying how mail goes out (no secrets)."""
    options = target.options
    sender = options.get("from")
    if options.get("transport") == "sendmail":
        return f"sendmail {options['sendmail_path']}" + (f", from {sender}" if sender else "")
    if options.get("implicit_tls"):
        security = "implicit TLS"
    else:
        security = "STARTTLS" if options.get("starttls", True) else "no TLS"
    parts = [f"SMTP {options['smtp_host']}:{options['smtp_port']}", security]
    if options.get("smtp_cafile"):
        parts.append(f"trusting {options['smtp_cafile']}")
    if options.get("smtp_user"):
        parts.append(f"user {options['smtp_user']} (password stored)")
    parts.append(f"from {envelope_sender(target)}")
    return ", ".join(parts)


def envelope_sender(target: Target) -> str | None:
    """``--from``, else an address-shaped SMTP user, else (SMTP only) the first recipient."""
    options = target.options
    if options.get("from"):
        return str(options["from"])
    user = str(options.get("smtp_user") or "")
    if "@" in user:
        return user
    if options.get("transport") == "sendmail":
        return None  # sendmail fills in the local user
    return parse_addresses(target.address)[0]


def build_message(target: Target, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    sender = envelope_sender(target)
    message["Subject"] = subject
    message["To"] = ", ".join(parse_addresses(target.address))
    if sender:
        message["From"] = sender
    message["Date"] = formatdate(localtime=True)
    # An explicit domain: make_msgid's default does a DNS lookup, which can hang on a cluster.
    domain = sender.rpartition("@")[2] if sender else socket.gethostname()
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    message.set_content(body)
    return message


class EmailSender:
    """Sends one message per call through the target's SMTP server or sendmail."""

    def send(self, target: Target, subject: str, body: str) -> None:
        message = build_message(target, subject, body)
        if target.options.get("transport") == "sendmail":
            _send_with_sendmail(target, message)
        else:
            _send_with_smtp(target, message)


def _send_with_smtp(target: Target, message: EmailMessage) -> None:
    options = target.options
    host, port = str(options["smtp_host"]), int(options["smtp_port"])
    stage = "connecting"
    try:
        tls = ssl.create_default_context(cafile=options.get("smtp_cafile"))
        implicit = tls if options.get("implicit_tls") else None
        with _connect(host, port, target.timeout, implicit) as smtp:
            stage = "greeting"
            smtp.ehlo()
            if options.get("starttls", True):
                stage = "starting TLS"
                smtp.starttls(context=tls)
                smtp.ehlo()
            if options.get("smtp_user"):
                stage = "logging in"
                smtp.login(str(options["smtp_user"]), str(options["smtp_password"]))
            stage = "sending"
            smtp.send_message(
                message,
                from_addr=envelope_sender(target),
                to_addrs=parse_addresses(target.address),
            )
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_failure(exc, target, stage) from exc


def _connect(
    host: str, port: int, timeout: float, implicit_tls: ssl.SSLContext | None
) -> smtplib.SMTP:
    """A connection to the server: TLS from the first byte when ``implicit_tls`` is given."""
    if implicit_tls is not None:
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=implicit_tls)
    return smtplib.SMTP(host, port, timeout=timeout)


def smtp_failure(exc: BaseException, target: Target, stage: str) -> AwsCopyPtError:
    """What went wrong talking to the SMTP server, and what the user can do about it."""
    options = target.options
    host, port, user = options["smtp_host"], int(options["smtp_port"]), options.get("smtp_user")
    where = f"SMTP server {host}:{port}"
    fix = f"then re-add it with the right options: aws-copy-pt notify add {target.name} --replace …"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return RemoteError(
            f"{where} presented a certificate this machine does not trust ({exc.verify_message})",
            hint=f"if the server uses a private CA, give its certificate with --smtp-cafile; {fix}",
        )
    if isinstance(exc, ssl.SSLError):
        return RemoteError(
            f"TLS with {where} failed: {exc.reason or exc}",
            hint=_tls_hint(port, bool(options.get("implicit_tls"))),
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return RemoteError(
            f"{where} refused the login of user {user}: {_reply(exc)}",
            hint=f"check the user name and password; {fix}",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError) and stage == "starting TLS":
        return RemoteError(
            f"{where} does not offer STARTTLS",
            hint="use its submission port (usually 587), or --no-starttls for a relay on a "
            f"network you trust, such as localhost; {fix}",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return RemoteError(f"{where} does not accept logins (SMTP AUTH)", hint=_port_hint(port))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr} ({_reply(reply)})" for addr, reply in exc.recipients.items())
        return RemoteError(f"{where} refused the recipient {refused}", hint=f"check --email; {fix}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return RemoteError(
            f"{where} refused the sender address {exc.sender}: {_reply(exc)}",
            hint=f"give an address the server accepts with --from; {fix}",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return RemoteError(f"{where} answered {_reply(exc)} while {stage}", hint=_port_hint(port))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return RemoteError(f"{where} closed the connection while {stage}", hint=_port_hint(port))
    if isinstance(exc, ConnectionRefusedError):
        return RemoteError(
            f"nothing accepts connections at {where}",
            hint="check --smtp-host and --smtp-port, and that the mail server is running",
        )
    if isinstance(exc, socket.gaierror):
        return RemoteError(f"cannot resolve the SMTP host {host} ({exc.strerror})", hint=fix)
    if isinstance(exc, TimeoutError):
        return RemoteError(
            f"{where} did not answer within {target.timeout:g} s while {stage}",
            hint="check --smtp-host and --smtp-port; HPC nodes often block outgoing SMTP: "
            "ask your admins, or use the local mail agent with --sendmail",
        )
    return RemoteError(f"could not reach {where} while {stage}: {exc}", hint=_port_hint(port))


def _reply(exc: smtplib.SMTPResponseException | tuple[int, bytes]) -> str:
    code, text = (exc.smtp_code, exc.smtp_error) if not isinstance(exc, tuple) else exc
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(decoded.split())}"


def _port_hint(port: int) -> str:
    return (
        "submission is usually offered on port 587 (STARTTLS) or 465 (implicit TLS); "
        "check --smtp-port"
    )


def _tls_hint(port: int, implicit: bool) -> str:
    if implicit:
        return (
            f"port {port} may expect STARTTLS rather than implicit TLS: re-add the target with "
            "--no-implicit-tls (or --smtp-port 587)"
        )
    if port == IMPLICIT_TLS_PORT:
        return "port 465 expects implicit TLS: re-add the target without --no-implicit-tls"
    return _port_hint(port)


def _checked_cafile(cafile: str, encrypted: bool) -> str:
    if not encrypted:
        raise UsageError(
            "--smtp-cafile is only used with STARTTLS or implicit TLS", hint="drop --no-starttls"
        )
    path = Path(cafile).expanduser().resolve()
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot read CA certificates from {path}: {exc}",
            hint="give a PEM file holding the server's CA certificate",
        ) from exc
    return str(path)


def _found(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise ConfigError(
            f"there is no executable sendmail program at {program}",
            hint="give the path of your mail agent with --sendmail PATH, or use --smtp-host",
        )
    return str(Path(path).absolute())  # not resolved: mail agents dispatch on argv[0]


def _send_with_sendmail(target: Target, message: EmailMessage) -> None:
    path = str(target.options.get("sendmail_path") or DEFAULT_SENDMAIL)
    command = [path, "-t", "-oi"]  # recipients from the headers; a lone "." is not the end
    if target.options.get("from"):
        command += ["-f", str(target.options["from"])]
    try:
        proc = subprocess.run(
            command,
            input=message.as_bytes(),
            capture_output=True,
            timeout=target.timeout,
            env=without_secrets(os.environ),  # the mail agent needs none of our secrets
        )
    except FileNotFoundError as exc:
        raise ConfigError(
            f"there is no sendmail program at {path}",
            hint="point --sendmail PATH at your mail agent, or use SMTP with --smtp-host",
        ) from exc
    except PermissionError as exc:
        raise ConfigError(f"{path} is not executable by you", hint="check its mode") from exc
    except subprocess.TimeoutExpired as exc:
        raise RemoteError(
            f"{path} did not finish within {target.timeout:g} s",
            hint="check the local mail system (`mailq`, the system log)",
        ) from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {lines[-1][:300]}" if lines else ""
        raise RemoteError(
            f"{path} exited with status {proc.returncode}{detail}",
            hint="check the local mail system (`mailq`, the system log), or use --smtp-host",
        )
