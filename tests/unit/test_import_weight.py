"""What a command loads: a copy does not pay for SDKs it never uses."""

from __future__ import annotations

import subprocess
import sys


def test_a_copy_loads_no_globus_sdk() -> None:
    """The copy engine is used by commands that never talk to Globus (`copy`): loading the
    Globus SDK (with requests, cryptography and jwt) cost every copy 20 MiB of memory and a
    tenth of a second. Only what talks to Globus loads it."""
    probe = (
        "import sys, aws_copy_pt.cli.main, aws_copy_pt.services.copy; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('globus_sdk', 'requests', 'jwt', 'cryptography')))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"
