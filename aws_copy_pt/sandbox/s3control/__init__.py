"""A local stand-in for S3 Control's Batch Operations jobs that really runs copy jobs.

moto has no Batch Operations jobs, so this stand-in answers ``CreateJob``, ``DescribeJob``,
``ListJobs`` and ``UpdateJobStatus`` in REST-XML (``/v20180820/jobs``) the way botocore's
``s3control`` model describes them, and executes ``S3PutObjectCopy`` jobs against a local S3
server (moto): it streams the manifest (checking its ETag), copies each task as the job's role,
refuses sources over the CopyObject limit, applies the task-failure threshold, and writes the
completion report in AWS's layout. See :class:`S3ControlStandIn` for the knobs (stuck states,
per-key failures, injected faults, permissions) and the waiting helper.

How a client reaches it
-----------------------
botocore prefixes the account id to the S3 Control host even when given ``endpoint_url``
(``http://222222222222.127.0.0.1:PORT/...``), so the stand-in cannot be an endpoint. It is an
HTTP *proxy* instead: the client keeps the AWS host name, over plain HTTP
(``endpoint_url=http://s3-control.<region>.amazonaws.com``), with ``Config(proxies={"http":
<stand-in url>})``; the request arrives with an absolute-URI target and the stand-in answers it
itself. :func:`aws_copy_pt.s3.control_route.s3control_route` is the one place that builds this, from
``AWS_COPY_PT_S3CONTROL_URL`` (what :meth:`S3ControlStandIn.env` returns; sandbox only, no
secret, loopback only); unset, clients reach AWS normally. The proxy applies to that one client,
so S3 and Globus traffic stay direct. A child process gets the same route from the variable.
(The environment-only alternative, ``HTTP_PROXY`` + ``AWS_ENDPOINT_URL_S3_CONTROL`` +
``NO_PROXY``, works too but proxies every plain-HTTP client of the process.)

What is the stand-in's own choice (AWS does not document it)
------------------------------------------------------------
The ``FailureCode`` values, HTTP statuses of ``JobStatusException`` (400) and
``IdempotencyException`` (409), and the wording of most ``FailureReason`` texts. Callers should
show failure reasons verbatim and never parse them.
"""

from .jobs import STATUSES, TERMINAL, Settings, TaskFailure
from .server import RequestRecord
from .standin import DEFAULT_ROLE_NAME, JobSnapshot, S3ControlStandIn

__all__ = [
    "DEFAULT_ROLE_NAME",
    "STATUSES",
    "TERMINAL",
    "JobSnapshot",
    "RequestRecord",
    "S3ControlStandIn",
    "Settings",
    "TaskFailure",
]
