"""What the environment and the AWS config file say about reaching S3, read as botocore reads
them, so the fast path (``s3.fast``, on the AWS Common Runtime) and boto3 agree: the switch that
turns the fast path off and the CA bundle TLS is verified with.
"""

from __future__ import annotations

import os
from pathlib import Path

FAST_PATH_VARIABLE = "AWS_COPY_PT_FAST_PATH"  # "0": boto3 sends every request


def fast_path_enabled() -> bool:
    """False when ``AWS_COPY_PT_FAST_PATH`` says off (0, false, no, off)."""
    value = os.environ.get(FAST_PATH_VARIABLE, "").strip().lower()
    return value not in ("0", "false", "no", "off")


def configured_ca_bundle(profile: str | None) -> str | None:
    """``ca_bundle`` as botocore reads it for ``profile`` (None: the session's default one):
    ``AWS_CA_BUNDLE``, else the profile's ``ca_bundle`` in the AWS config file."""
    if os.environ.get("AWS_CA_BUNDLE"):
        return os.environ["AWS_CA_BUNDLE"]
    from botocore.configloader import load_config
    from botocore.exceptions import ConfigNotFound, ConfigParseError

    name = profile or os.environ.get("AWS_DEFAULT_PROFILE") or os.environ.get("AWS_PROFILE")
    path = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    try:
        profiles = load_config(path).get("profiles", {})
    except (ConfigNotFound, ConfigParseError):  # boto3 reads no ca_bundle from it either
        return None
    value = profiles.get(name or "default", {}).get("ca_bundle")
    return str(value) if value else None


def default_ca_bundle() -> str:
    """botocore's bundle when none is configured: certifi's, else the one it ships."""
    try:
        import certifi
    except ImportError:
        import botocore

        return str(Path(botocore.__file__).parent / "cacert.pem")
    return str(certifi.where())
