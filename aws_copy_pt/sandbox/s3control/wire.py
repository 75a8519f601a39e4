"""REST-XML on the wire: requests as handlers see them, responses, and S3 Control errors.

S3 Control answers errors nested, ``<ErrorResponse><Error><Code>...</Code><Message>...
</Message></Error><RequestId>...</RequestId><HostId>...</HostId></ErrorResponse>`` (unlike S3's
flat ``<Error>``); botocore's rest-xml parser reads both and raises the modeled exception class
(``client.exceptions.NotFoundException``...) by ``Code``.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

NAMESPACE = "http://awss3control.amazonaws.com/doc/2018-08-20/"


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request: the account comes from ``x-amz-account-id``."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    host: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def account_id(self) -> str:
        return self.headers.get("x-amz-account-id", "")

    def xml(self) -> ET.Element:
        """The body as an element tree with namespaces stripped from every tag."""
        try:
            root = ET.fromstring(self.body)  # noqa: S314 - loopback stand-in, trusted clients
        except ET.ParseError as exc:
            message = f"The XML you provided was not well-formed: {exc}"
            raise ApiError(400, "MalformedXML", message) from exc
        for element in root.iter():
            element.tag = element.tag.rpartition("}")[2]
        return root


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by handlers: answers with an S3 Control error document."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def response(self) -> Response:
        return error_response(self.status, self.code, self.message)


def error_response(status: int, code: str, message: str) -> Response:
    request_id = new_request_id()
    root = ET.Element("ErrorResponse")
    error = ET.SubElement(root, "Error")
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestId").text = request_id
    ET.SubElement(root, "HostId").text = secrets.token_urlsafe(24)
    return Response(status, to_bytes(root), {"x-amz-request-id": request_id})


def to_bytes(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def result_element(name: str) -> ET.Element:
    return ET.Element(name, {"xmlns": NAMESPACE})


def add(parent: ET.Element, name: str, value: object) -> ET.Element | None:
    """Append ``<name>value</name>`` unless value is None; booleans and times as AWS writes."""
    if value is None:
        return None
    child = ET.SubElement(parent, name)
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif isinstance(value, datetime):
        child.text = iso8601(value)
    else:
        child.text = str(value)
    return child


def iso8601(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def text(element: ET.Element | None, path: str) -> str | None:
    found = element.find(path) if element is not None else None
    return found.text if found is not None and found.text is not None else None


def members(element: ET.Element | None, path: str) -> list[ET.Element] | None:
    """The ``<member>`` children of a list element; None when the list is absent."""
    found = element.find(path) if element is not None else None
    return None if found is None else list(found.findall("member"))
