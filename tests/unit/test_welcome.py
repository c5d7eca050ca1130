"""What `bureau rehearse up` prints at the end for a newcomer."""

from __future__ import annotations

from pathlib import Path

from bureau.core import welcome
from bureau.core.users import csvinput


def sample() -> welcome.Welcome:
    return welcome.Welcome(
        domain="gouv.tg",
        addresses={"auth.gouv.tg": "172.30.0.2", "mail.gouv.tg": "172.30.0.2"},
        ca_file=Path(".bureau/rehearsal/ca.crt"),
        passwords_file=Path(".bureau/rehearsal/demo-passwords.csv"),
        demo_uids=["kossi.amouzou", "ama.lawson"],
        releases={"suite.gouv.tg": "Debian 13 (trixie)"},
    )


def test_the_end_says_where_to_go_how_to_reach_it_and_who_to_be() -> None:
    text = "\n".join(sample().lines())
    assert "https://auth.gouv.tg/" in text and "https://mail.gouv.tg/" in text
    assert (
        '--host-resolver-rules="MAP auth.gouv.tg 172.30.0.2, MAP mail.gouv.tg 172.30.0.2"' in text
    )
    assert "172.30.0.2 auth.gouv.tg mail.gouv.tg" in text  # an /etc/hosts line
    assert ".bureau/rehearsal/ca.crt" in text
    assert "kossi.amouzou" in text and ".bureau/rehearsal/demo-passwords.csv" in text
    assert "imap.gouv.tg  993" in text and "smtp.gouv.tg  587" in text
    assert "suite.gouv.tg runs Debian 13 (trixie): why, in docs/operations/releases.md" in text
    assert "https://drive.gouv.tg/" in text and "https://dav.gouv.tg/users/<login>/" in text


def test_an_office_host_gets_the_bureau_virtuel_lines() -> None:
    without = "\n".join(sample().lines())
    assert "Bureau virtuel" not in without
    addresses = {
        **sample().addresses, "bureau.gouv.tg": "172.30.0.2", "office.gouv.tg": "172.30.0.3"
    }  # fmt: skip
    text = "\n".join(welcome.Welcome(**{**sample().__dict__, "addresses": addresses}).lines())
    assert "https://bureau.gouv.tg/navigateur/" in text
    assert "xfreerdp /v:office.gouv.tg" in text
    assert "172.30.0.3 office.gouv.tg" in text
    assert "https://visio.gouv.tg/" not in text


def test_a_video_host_gets_the_meetings_line() -> None:
    addresses = {**sample().addresses, "visio.gouv.tg": "172.30.0.2", "turn.gouv.tg": "172.30.0.4"}
    text = "\n".join(welcome.Welcome(**{**sample().__dict__, "addresses": addresses}).lines())
    assert "Meetings (videoconference): https://visio.gouv.tg/" in text


def test_a_second_up_says_the_passwords_were_given_before() -> None:
    again = welcome.Welcome(**{**sample().__dict__, "passwords_file": None})
    assert "earlier `up`" in "\n".join(again.lines())


def test_the_demo_agents_file_is_valid_and_names_its_uids() -> None:
    rows = csvinput.read(welcome.DEMO_AGENTS, "gouv.tg")
    assert [row.uid for row in rows] == [
        "kossi.amouzou",
        "ama.lawson",
        "komi.tchalla",
        "essi.akakpo",
    ]
