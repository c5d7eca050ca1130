"""Fixtures of the video checks: the video host (Debian 12, Janus, coturn,
the room service), reached beside the suite host; Debian's Chromium with a
fake camera and microphone, whose only way to the media is TURN over TLS.

Chromium runs in a network namespace of its own (tests/infra/browser_netns.py)
that reaches the outside through TCP relays only: the site's names on 443
and 80 (the suite host's front), and the TURN name's TLS port, relayed to
the video host. With no UDP out, a participant's media can only flow through
coturn's TLS port: the path of an agent whose network lets only TLS out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from testinfra.host import Host

from .. import browser_netns
from ..site import DOMAIN
from ..testsupport import CHROMIUM, host_named, suite_host_name

# molecule/suite names its containers after $BUREAU_SUITE.
VIDEO = suite_host_name("video")
TURN_TLS_PORT = 5349
FAKE_MEDIA = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # getDisplayMedia answered without a picker (a fake screen).
    "--auto-select-desktop-capture-source=Entire screen",
    # TURN over TLS is checked against the internal CA by the checks
    # (test_turn_over_tls_shows_the_host_certificate); Chromium's WebRTC
    # reads its own roots, not the system's.
    "--ignore-certificate-errors",
)


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """Every name of the site resolves to the host under test (tests/infra/conftest.py)."""


@pytest.fixture(scope="module")
def video(pytestconfig: pytest.Config) -> Host:
    """The video host, over the same connection as the suite host."""
    return host_named(pytestconfig, VIDEO)


@pytest.fixture(scope="module")
def video_address(video: Host) -> str:
    return next(a for a in video.interface("eth0").addresses if ":" not in a)


@pytest.fixture(scope="module")
def browsers(address: str, video_address: str) -> Iterator[list[Browser]]:
    """Two Chromium browsers (Debian's, as testsupport.chromium starts it)
    with a fake camera and microphone, and TURN's TLS port relayed."""
    relays = {TURN_TLS_PORT: (video_address, TURN_TLS_PORT)}
    with sync_playwright() as playwright:
        launch = functools.partial(
            browser_netns.launch,
            playwright.chromium,
            CHROMIUM,
            DOMAIN,
            address,
            args=FAKE_MEDIA,
            relays=relays,
        )
        with launch() as first, launch() as second:
            yield [first, second]
