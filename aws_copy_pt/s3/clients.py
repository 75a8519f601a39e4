"""The one place that builds boto3 sessions and clients.

Everything that talks to S3 or STS gets its client from a :class:`ClientFactory`, injected by the
caller (services never build clients themselves). The factory turns a registered credential
(an AWS profile reference, or stored keys, optionally plus a role to assume) into a boto3 session
whose assumed-role credentials refresh themselves, and gives each (credential, region, endpoint)
one shared, thread-safe client tuned for server-side copies: adaptive retries for ``SlowDown``,
a connection pool as large as the copy concurrency, and — for S3-compatible stores that are not
AWS — checksums only when required, because boto3's default trailing checksums break many of
them.

Endpoints: ``endpoint_url`` comes from the bucket registration; STS uses boto3's own
``AWS_ENDPOINT_URL_STS`` variable when set (tests point it at the local server).

S3 Control (Batch Operations jobs) clients are built here too, on the route that
``s3.control_route`` chooses (AWS, or the sandbox's loopback stand-in).

boto3 is imported, and a client built, only when something needs one: importing boto3 and
building a client cost ~0.2 s of CPU, and a copy of small objects whose every request goes the
fast way (``s3.fast``, on the AWS Common Runtime) needs neither. :class:`LazyS3` hands a client
out on first use, and :meth:`ClientFactory.signing_keys` gives the fast path stored keys without
a boto3 session.

The fast path takes its settings from the same places as the boto3 client: the credentials
(stored keys, a profile's, an assumed role's refreshed by the same botocore object), the trust
store (:meth:`ClientFactory.ca_bundle`, read as botocore reads it by ``s3.environment``) and the
proxy variables (read by both from the environment). ``AWS_COPY_PT_FAST_PATH=0`` turns it off:
boto3 then sends every request.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from aws_copy_pt.core.bucket_settings import is_aws_endpoint
from aws_copy_pt.log import register_secret
from aws_copy_pt.s3.control_route import S3CONTROL_URL_ENV, s3control_route
from aws_copy_pt.s3.environment import configured_ca_bundle, default_ca_bundle, fast_path_enabled

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3control import S3ControlClient
    from mypy_boto3_sts import STSClient

    from aws_copy_pt.s3.fast import FastS3

DEFAULT_REGION = "us-east-1"
ROLE_SESSION_NAME = "aws-copy-pt"
_Identity = tuple[str, ...]  # a credential's name and everything that signs as it
_ClientKey = tuple[_Identity, str, str | None, str]  # credential, region, endpoint, service


@dataclass(frozen=True)
class CredentialSpec:
    """What boto3 needs to act as a registered principal (built from an ``AwsCredential`` row)."""

    key: str  # cache key: the credential's name
    kind: str  # "profile" | "keys"
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    role_arn: str | None = None
    external_id: str | None = None

    @cached_property
    def identity(self) -> _Identity:
        """What cached sessions and clients are keyed by: the name first, then how it signs
        in (the secret and token only as a digest), so changed keys never meet an old client."""
        secrets = f"{self.secret_access_key}\0{self.session_token}".encode()
        return (
            self.key,
            self.kind,
            self.profile or "",
            self.access_key_id or "",
            self.role_arn or "",
            self.external_id or "",
            hashlib.sha256(secrets).hexdigest(),
        )

    def __repr__(self) -> str:  # never show secrets, even in debug output
        return f"CredentialSpec(key={self.key!r}, kind={self.kind!r}, role_arn={self.role_arn!r})"

    @classmethod
    def from_row(cls, row: Any) -> CredentialSpec:
        """From an ``AwsCredential`` row (duck-typed: this module must not import the DB)."""
        return cls(
            key=row.name,
            kind=row.kind,
            profile=row.profile,
            access_key_id=row.access_key_id,
            secret_access_key=row.secret_access_key,
            session_token=row.session_token,
            role_arn=row.role_arn,
            external_id=row.external_id,
        )


class FrozenKeys(NamedTuple):
    """One moment's keys, shaped like botocore's ``ReadOnlyCredentials``."""

    access_key: str
    secret_key: str
    token: str | None


class SigningKeys(Protocol):
    """What signs a request: stored keys, or a botocore credential that may refresh itself."""

    def get_frozen_credentials(self) -> Any: ...


@dataclass(frozen=True)
class StaticKeys:
    """Keys stored with a credential: they never change, so no boto3 session is needed."""

    keys: FrozenKeys

    def __repr__(self) -> str:
        return f"StaticKeys({self.keys.access_key!r})"

    def get_frozen_credentials(self) -> FrozenKeys:
        return self.keys


class LazyS3:
    """A shared S3 client, built the first time something needs it."""

    def __init__(
        self,
        build: Callable[[], S3Client],
        built: Callable[[], S3Client | None],
        *,
        credential: str | None = None,
    ) -> None:
        self._build = build
        self._built = built
        self._client: S3Client | None = None  # once built, it stays
        self.credential = credential  # the registered credential's name, for error hints

    @classmethod
    def ready(cls, client: S3Client) -> LazyS3:
        """A client that already exists."""
        return cls(lambda: client, lambda: client)

    def get(self) -> S3Client:
        """The client (built now if it was not yet; after that, no lock is taken)."""
        client = self._client
        if client is None:
            client = self._client = self._build()
        return client

    def built(self) -> S3Client | None:
        """The client if it exists already; None instead of building it."""
        if self._client is None:
            self._client = self._built()
        return self._client


def s3_config(endpoint_url: str | None, *, max_pool_connections: int = 64) -> Config:
    """Client configuration for S3 copies at high concurrency."""
    from botocore.config import Config

    aws = is_aws_endpoint(endpoint_url)
    return Config(
        signature_version="s3v4",
        retries={"mode": "adaptive", "max_attempts": 8},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=300,  # a 5 GiB CopyObject can take minutes before S3 answers
        tcp_keepalive=True,
        s3={"addressing_style": "auto" if aws else "path"},
        request_checksum_calculation="when_supported" if aws else "when_required",
        response_checksum_validation="when_supported" if aws else "when_required",
    )


_CHECKSUM_HEADERS = (
    "Content-MD5",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
)


_PYTHON_SIGNER = "aws-copy-pt-s3v4"  # botocore's own SigV4 for S3, under a name of ours
_UPLOADS = ("PutObject", "UploadPart")


def sign_by_checksum(client: Any, config: Config) -> None:
    """Sign an upload's body by its checksum header, and without copying the body.

    * botocore hashes the whole body for the signature on plain-HTTP endpoints (a local MinIO
      or Ceph gateway), even when the request carries Content-MD5 or an ``x-amz-checksum-*``;
      on HTTPS it already trusts that header. The header is itself signed, so a body changed on
      the way still fails at the store; what is saved is a second pass over every byte (the
      SHA-256 was a fifth of a streamed copy's CPU). rclone does the same
      (``UNSIGNED-PAYLOAD`` with Content-MD5 over HTTP). Requests without such a header are
      signed as before.
    * With awscrt installed, botocore signs through the CRT, and hands it the body as a stream:
      a bytes body is copied whole for that (``BytesIO(body)``), even when no byte of it is
      signed. A streamed copy's 16 MiB parts were each held twice while uploaded. Uploads are
      signed by botocore's own (pure Python) SigV4 signer instead, which reads nothing of an
      unsigned body; every other request keeps the CRT signer.
    """
    import botocore.auth
    from botocore.config import Config

    botocore.auth.AUTH_TYPE_MAPS.setdefault(_PYTHON_SIGNER, botocore.auth.S3SigV4Auth)
    s3: Any = {**(getattr(config, "s3", None) or {}), "payload_signing_enabled": False}
    unsigned = config.merge(Config(s3=s3))

    def before_sign(request: Any, **_: Any) -> None:
        if request.body and any(name in request.headers for name in _CHECKSUM_HEADERS):
            request.context["client_config"] = unsigned

    def choose_signer(signature_version: Any = None, **_: Any) -> str | None:
        return _PYTHON_SIGNER if signature_version == "s3v4" else None

    events = client.meta.events
    events.register("before-sign.s3", before_sign)
    for operation in _UPLOADS:
        events.register(f"choose-signer.s3.{operation}", choose_signer)


class ClientFactory:
    """Builds and caches boto3 sessions and clients; safe to share between threads."""

    def __init__(self, *, max_pool_connections: int = 64) -> None:
        self._max_pool = max_pool_connections
        self._sessions: dict[_Identity, boto3.session.Session] = {}
        self._clients: dict[_ClientKey, Any] = {}
        self._lock = threading.Lock()

    def session(self, spec: CredentialSpec) -> boto3.session.Session:
        with self._lock:
            identity = spec.identity
            if identity not in self._sessions:
                self._sessions[identity] = self._build_session(spec)
            return self._sessions[identity]

    def s3(
        self, spec: CredentialSpec, *, region: str | None, endpoint_url: str | None = None
    ) -> S3Client:
        """A shared S3 client for this principal, region and endpoint."""
        region = region or DEFAULT_REGION
        cache_key = _s3_key(spec, region, endpoint_url)
        session = self.session(spec)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                config = s3_config(endpoint_url, max_pool_connections=self._max_pool)
                client = session.client(
                    "s3", region_name=region, endpoint_url=endpoint_url, config=config
                )
                sign_by_checksum(client, config)
                self._clients[cache_key] = client
        return client

    def lazy_s3(
        self, spec: CredentialSpec, *, region: str | None, endpoint_url: str | None = None
    ) -> LazyS3:
        """The client :meth:`s3` gives, built only when first asked for."""
        cache_key = _s3_key(spec, region or DEFAULT_REGION, endpoint_url)

        def built() -> S3Client | None:
            with self._lock:
                client: S3Client | None = self._clients.get(cache_key)
                return client

        return LazyS3(
            lambda: self.s3(spec, region=region, endpoint_url=endpoint_url),
            built,
            credential=spec.key,
        )

    def signing_keys(self, spec: CredentialSpec) -> SigningKeys | None:
        """What signs requests as ``spec``; None when it has no credentials at all.

        Stored keys are used as they are; a profile or an assumed role goes through a boto3
        session, whose credentials refresh themselves.
        """
        if spec.kind == "keys" and not spec.role_arn and spec.access_key_id:
            register_secret(spec.secret_access_key)
            register_secret(spec.session_token)
            keys = FrozenKeys(spec.access_key_id, spec.secret_access_key or "", spec.session_token)
            return StaticKeys(keys)
        credentials: SigningKeys | None = self.session(spec).get_credentials()
        return credentials

    def fast_s3(
        self, spec: CredentialSpec, client: LazyS3, *, region: str | None, endpoint_url: str | None
    ) -> FastS3 | None:
        """The fast path for requests ``client`` would send; None when it is switched off
        (``AWS_COPY_PT_FAST_PATH=0``) or ``spec`` has no credentials."""
        if not fast_path_enabled():
            return None
        keys = self.signing_keys(spec)
        if keys is None:
            return None
        from aws_copy_pt.s3.fast import FastS3

        return FastS3(
            client, keys, endpoint_url=endpoint_url, region=region, ca_file=self.ca_bundle(spec)
        )

    def ca_bundle(self, spec: CredentialSpec) -> str:
        """The CA bundle boto3's clients for ``spec`` verify TLS with."""
        if spec.kind == "keys" and not spec.role_arn:
            configured = configured_ca_bundle(None)  # no boto3 session needed for stored keys
        else:
            configured = self.session(spec)._session.get_config_variable("ca_bundle")
        return str(configured) if configured else default_ca_bundle()

    def s3_check(
        self, spec: CredentialSpec, *, region: str | None, endpoint_url: str | None = None
    ) -> S3Client:
        """An uncached S3 client that fails fast, for interactive checks (`bucket add/check`)."""
        from botocore.config import Config

        quick = Config(
            retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=30
        )
        session = self.session(spec)
        with self._lock:
            return session.client(
                "s3",
                region_name=region or DEFAULT_REGION,
                endpoint_url=endpoint_url,
                config=s3_config(endpoint_url, max_pool_connections=1).merge(quick),
            )

    def s3control(self, spec: CredentialSpec, *, region: str) -> S3ControlClient:
        """A shared S3 Control client (Batch Operations jobs) for this principal and region."""
        control_url = os.environ.get(S3CONTROL_URL_ENV) or None
        endpoint_url, config = s3control_route(region, control_url)
        cache_key = (spec.identity, region, control_url, "s3control")
        session = self.session(spec)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                client = session.client(
                    "s3control", region_name=region, endpoint_url=endpoint_url, config=config
                )
                self._clients[cache_key] = client
        return client

    def sts(self, spec: CredentialSpec, *, region: str | None = None) -> STSClient:
        return self.session(spec).client("sts", region_name=region or DEFAULT_REGION)

    def forget(self, key: str) -> None:
        """Drop cached sessions/clients of a credential (after it was changed or removed)."""
        with self._lock:
            for identity in [i for i in self._sessions if i[0] == key]:
                del self._sessions[identity]
            for cache_key in [k for k in self._clients if k[0][0] == key]:
                del self._clients[cache_key]

    def _build_session(self, spec: CredentialSpec) -> boto3.session.Session:
        """The session of ``spec``; a profile that gives no keys, or a role that cannot be
        assumed, raises a typed error naming the credential (never botocore's own), worded
        for a registered credential (``s3.sts.caller_identity`` rewords it for one that is not
        registered yet)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from aws_copy_pt.s3.sts import sts_error

        base = self._base_session(spec)
        if not spec.role_arn:
            return base
        try:
            return _assumed_role_session(base, spec)
        except (BotoCoreError, ClientError) as exc:
            raise sts_error(exc, spec, stored=True) from exc

    @staticmethod
    def _base_session(spec: CredentialSpec) -> boto3.session.Session:
        import boto3

        if spec.kind == "profile":
            return _profile_session(spec)
        register_secret(spec.secret_access_key)
        register_secret(spec.session_token)
        return boto3.session.Session(
            aws_access_key_id=spec.access_key_id,
            aws_secret_access_key=spec.secret_access_key,
            aws_session_token=spec.session_token,
        )


def available_profiles() -> list[str]:
    """The AWS profiles configured on this machine (``~/.aws/config`` and ``credentials``, or
    where ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` point), sorted; none when the
    configuration cannot be read."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        return sorted(set(botocore.session.Session().available_profiles))
    except (BotoCoreError, ValueError):
        return []


def _profile_session(spec: CredentialSpec) -> boto3.session.Session:
    """A session on the credential's AWS profile, its keys loaded now: a profile that is not
    defined, holds no keys or half a pair fails here, with the credential's name, instead of
    inside the first request (or as botocore's ProfileNotFound from whichever command)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from aws_copy_pt.s3.errors import unusable_credential

    try:
        session = boto3.session.Session(profile_name=spec.profile)
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise unusable_credential(exc, credential=spec.key, profile=spec.profile) from exc
    if credentials is None:
        raise unusable_credential(None, credential=spec.key, profile=spec.profile)
    return session


def _s3_key(spec: CredentialSpec, region: str, endpoint_url: str | None) -> _ClientKey:
    return (spec.identity, region, endpoint_url, "s3")


def _assumed_role_session(base: boto3.session.Session, spec: CredentialSpec) -> boto3.Session:
    """A session whose credentials come from AssumeRole and refresh before they expire."""
    import boto3
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    sts = base.client("sts", region_name=base.region_name or DEFAULT_REGION)

    def refresh() -> dict[str, str]:
        kwargs: dict[str, Any] = {
            "RoleArn": spec.role_arn,
            "RoleSessionName": ROLE_SESSION_NAME,
            "DurationSeconds": 3600,
        }
        if spec.external_id:
            kwargs["ExternalId"] = spec.external_id
        creds = sts.assume_role(**kwargs)["Credentials"]
        register_secret(creds["SecretAccessKey"])
        register_secret(creds["SessionToken"])
        expiry = creds.get("Expiration") or datetime.now(UTC) + timedelta(hours=1)
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="assume-role"
    )
    botocore_session = get_session()
    # botocore has no public setter for refreshable credentials; this is the known idiom.
    botocore_session._credentials = credentials  # type: ignore[attr-defined]
    return boto3.session.Session(botocore_session=botocore_session)
