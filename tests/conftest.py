"""Shared pytest configuration: fixture plugins live in tests/fixtures/."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.s3control",
    "tests.fixtures.stream",
    "tests.fixtures.globus",
    "tests.fixtures.cli",
    "tests.fixtures.notify",
    "tests.fixtures.pipeline",
    "tests.fixtures.wizard",
    "tests.fixtures.http_proxy",
    "tests.fixtures.tls_front",
]
