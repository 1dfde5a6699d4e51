"""Shared fixtures of the project's own tests: real sandbox gateways on loopback."""

from __future__ import annotations

import pytest

from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox


@pytest.fixture
def real_traffic():
    """The recorded corpus of ../shared/real-traffic: a skip when absent on a developer's machine, a failure
    under CI=true (tests/real_traffic.py holds the one path resolver)."""
    from .real_traffic import TRAFFIC_DIR, require_traffic

    require_traffic()
    return TRAFFIC_DIR


@pytest.fixture(scope="session")
def sandbox():
    """The reference sandbox gateway (the protocol references' ideal), shared by the tests that only read
    from it; tests of new-api's behaviour start one in the default ``new-api`` mode themselves."""
    with start_sandbox(SandboxConfig(mode="reference")) as running:
        yield running


@pytest.fixture
def deviant_sandbox():
    """A factory of sandboxes with named deviations, stopped after the test."""
    started = []

    def start(*deviations: str, **kwargs):
        kwargs.setdefault("mode", "reference")  # each deviation alone, over the ideal gateway
        running = start_sandbox(SandboxConfig(deviations=frozenset(deviations), **kwargs))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


