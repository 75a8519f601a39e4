"""Keeping secrets inside the process that holds them: out of children and out of core dumps.

The secrets live in the database; a process that opens it may hold AWS keys, Globus tokens and
an SMTP password in memory. :func:`harden_process` makes such a process leave no core dump
(``RLIMIT_CORE`` 0, soft and hard) and, on Linux, not dumpable (``prctl(PR_SET_DUMPABLE, 0)``):
no core file, and ``/proc/<pid>/environ``, ``mem`` and ptrace are closed to other processes of
the same user. Elsewhere the prctl step is a no-op.

The variables through which a user may hand aws-copy-pt a secret (:data:`SECRET_ENV_VARS`) are
read by `aws add|update` and `notify add` only. A detached daemon starts from an environment
without them (:func:`without_secrets`), and any long-running process removes them from its own
(:func:`scrub_environment`), so no child it starts (a mail agent) inherits them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import sys
from collections.abc import Mapping, MutableMapping

# Names of variables, not secrets:
SECRET_ACCESS_KEY_ENV = "AWS_COPY_PT_SECRET_ACCESS_KEY"  # noqa: S105
SESSION_TOKEN_ENV = "AWS_COPY_PT_SESSION_TOKEN"  # noqa: S105
SMTP_PASSWORD_ENV = "AWS_COPY_PT_SMTP_PASSWORD"  # noqa: S105
SECRET_ENV_VARS = frozenset({SECRET_ACCESS_KEY_ENV, SESSION_TOKEN_ENV, SMTP_PASSWORD_ENV})

_PR_SET_DUMPABLE = 4  # <linux/prctl.h>
log = logging.getLogger(__name__)


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus the variables that may carry a secret for aws-copy-pt."""
    return {name: value for name, value in env.items() if name not in SECRET_ENV_VARS}


def scrub_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Remove the secret variables from ``environ`` (default: this process's environment)."""
    target = os.environ if environ is None else environ
    for name in SECRET_ENV_VARS:
        target.pop(name, None)


def harden_process() -> None:
    """No core dump of this process, and (Linux) not dumpable: its memory holds secrets."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        _not_dumpable()


def _not_dumpable() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0
    except (OSError, AttributeError):
        failed = True
    if failed:
        log.debug("could not mark the process not dumpable")
