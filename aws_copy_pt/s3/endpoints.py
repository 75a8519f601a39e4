"""Where the fast path sends a bucket's requests, the region it signs them for, and when it must
step aside for boto3.

For a custom endpoint (MinIO, Ceph, a local server...) our clients address buckets path-style,
so the URL follows from the endpoint alone and no boto3 client is needed (plain http on a custom
port too). On AWS, and for any endpoint with a path, botocore's endpoint rules decide: a
presigned URL runs them (virtual-hosted or path style, FIPS, dual-stack, partitions) and names
the signing region; it is made once per bucket. Those rules are kept rather than copied: they
are large and change with new regions and partitions.

Trust: before the CRT talks to a custom https endpoint it is not told to reach through a proxy,
one TLS handshake with Python's ``ssl`` and the same CA bundle checks the certificate: s2n (the
CRT's TLS) delays every refused handshake by 10-30 s ("blinding") and the CRT retries it, so a
store whose CA is not in the bundle would cost minutes before boto3 reported the same refusal.
Such an endpoint is left to boto3, which fails at once and says why.

Proxies: the CRT reads ``HTTPS_PROXY``/``HTTP_PROXY`` from the environment itself (a CONNECT
tunnel for https, a forward proxy for http), as boto3 does. Where boto3 would *bypass* the proxy
(``NO_PROXY``), the fast path steps aside: the CRT's reading of ``NO_PROXY`` has differed from
botocore's between versions, and such a request must never reach the proxy. It steps aside too
for proxy kinds not tested with the CRT (an https:// proxy, a proxy with a user name).
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import urllib.request
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aws_copy_pt.core.bucket_settings import is_aws_endpoint

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.s3.clients import LazyS3

_PROBE_KEY = "aws-copy-pt-probe"
_GLOBAL = "s3.amazonaws.com"
_SCOPE = re.compile(r"X-Amz-Credential=[^&]*?%2F\d{8}%2F([^%&]+)%2Fs3%2F")


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str  # the Host header (with a non-default port)
    path_prefix: str  # "/" for virtual-hosted buckets, "/bucket/" for path style
    region: str  # what requests are signed for


class Endpoints:
    """Each bucket's endpoint, resolved once; None where only boto3 should go."""

    def __init__(
        self,
        client: LazyS3,
        endpoint_url: str | None,
        region: str | None,
        *,
        ca_file: str | None = None,
    ) -> None:
        self._client = client
        self._ca_file = ca_file
        self._path_style = path_style_base(endpoint_url, region)
        self._resolved: dict[str, Endpoint | None] = {}
        self._lock = threading.Lock()

    def get(self, bucket: str) -> Endpoint | None:
        if bucket in self._resolved:  # read without the lock once resolved
            return self._resolved[bucket]
        with self._lock:
            if bucket not in self._resolved:
                found: Endpoint | None
                if self._path_style is not None:
                    found = replace(self._path_style, path_prefix=f"/{bucket}/")
                    if not self._trusted(found):
                        found = None
                else:
                    found = resolve_endpoint(self._client.get(), bucket)
                if found is not None and not fast_path_reaches(found.scheme, found.host):
                    found = None
                self._resolved[bucket] = found
            return self._resolved[bucket]

    def _trusted(self, endpoint: Endpoint) -> bool:
        """A custom https endpoint reached directly: does the CA bundle accept its certificate?
        (Asked once per endpoint: the path-style base is the same for every bucket.)"""
        if endpoint.scheme != "https" or urllib.request.getproxies().get("https"):
            return True
        return certificate_trusted(endpoint.host, self._ca_file)


def certificate_trusted(netloc: str, ca_file: str | None, timeout: float = 10.0) -> bool:
    """Whether a TLS handshake with ``netloc`` (host[:port]) verifies against ``ca_file``.

    Only a refused certificate says no: an unreachable endpoint is for the requests to report.
    """
    parts = urlsplit(f"//{netloc}")
    host = parts.hostname or netloc
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with (
            socket.create_connection((host, parts.port or 443), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host),
        ):
            return True
    except ssl.SSLCertVerificationError:
        return False
    except OSError:
        return True


def path_style_base(endpoint_url: str | None, region: str | None) -> Endpoint | None:
    """Where a custom endpoint's requests go (path-style: ``/bucket/key``), bucket left out.

    None for AWS, and for an endpoint URL with a path, a query or user info.
    """
    if endpoint_url is None or is_aws_endpoint(endpoint_url):
        return None
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return Endpoint(parts.scheme, parts.netloc, "/", region or "us-east-1")


def resolve_endpoint(client: S3Client, bucket: str) -> Endpoint | None:
    """Where botocore would send requests for ``bucket``, and the region it signs for."""
    url = client.generate_presigned_url(
        "head_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60
    )
    parts = urlsplit(url)
    scope = _SCOPE.search(parts.query)
    if scope is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if not parts.path.endswith("/" + _PROBE_KEY):
        return None
    prefix = parts.path[: -len(_PROBE_KEY)]
    region = scope.group(1)
    host = _regional(parts.hostname or "", region)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return Endpoint(parts.scheme, netloc, prefix, region)


def _regional(host: str, region: str) -> str:
    """The region's own S3 host where a presigned URL names the global one.

    botocore presigns against ``s3.amazonaws.com``, but sends its requests to the bucket's
    region: the global host answers a bucket younger than a day with a 307 redirect.
    """
    if region == "us-east-1" or not (host == _GLOBAL or host.endswith("." + _GLOBAL)):
        return host
    return host[: -len(_GLOBAL)] + f"s3.{region}.amazonaws.com"


def fast_path_reaches(scheme: str, netloc: str) -> bool:
    """Whether the CRT reaches ``scheme://netloc`` the way boto3 does (see the module doc).

    Proxies are read as botocore reads them (``urllib.request``): the scheme's proxy unless
    ``NO_PROXY`` names the host.
    """
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme)
    if not proxy:
        return True  # both go direct
    if urllib.request.proxy_bypass(netloc):
        return False  # boto3 goes direct: the CRT might not
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.scheme == "http" and not parts.username
