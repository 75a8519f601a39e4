"""How an S3 Control client (Batch Operations jobs) reaches its service: one way for AWS and one
for the sandbox, chosen here and nowhere else (:func:`s3control_route`).

botocore puts the account id in front of the S3 Control host
(``{AccountId}.s3-control.{region}.amazonaws.com``) even with ``endpoint_url``, so a loopback
stand-in cannot be named as an endpoint. Instead, when ``AWS_COPY_PT_S3CONTROL_URL`` is set (only
the sandbox sets it: ``demo``, tests, benchmarks) the client talks plain HTTP to the AWS host name
*through* that URL as an HTTP proxy, and the stand-in answers the proxied request itself. Only
this one client uses the proxy (no process-wide ``HTTP_PROXY``), the variable holds no secret,
and it must name a loopback address, so signed requests never leave the machine. Unset, the
client is the ordinary HTTPS one for the region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aws_copy_pt.errors import ConfigError

if TYPE_CHECKING:
    from botocore.config import Config

S3CONTROL_URL_ENV = "AWS_COPY_PT_S3CONTROL_URL"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def s3control_route(region: str, control_url: str | None) -> tuple[str | None, Config]:
    """``endpoint_url`` and configuration of an S3 Control client for ``region``.

    ``control_url`` (normally ``$AWS_COPY_PT_S3CONTROL_URL``) names a local stand-in, used as
    the HTTP proxy of this client alone; None means AWS itself.
    """
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60
    )
    if not control_url:
        return None, config
    parts = urlsplit(control_url)
    if parts.scheme != "http" or (parts.hostname or "") not in _LOOPBACK_HOSTS:
        raise ConfigError(
            f"{S3CONTROL_URL_ENV} must be an http:// URL on this machine (127.0.0.1), "
            f"not {control_url!r}",
            hint=f"unset {S3CONTROL_URL_ENV} to use AWS S3 Control itself",
        )
    return f"http://s3-control.{region}.amazonaws.com", config.merge(
        Config(proxies={"http": control_url})
    )
