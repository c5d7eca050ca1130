from __future__ import annotations

from pathlib import Path

import pytest

from bureau.core import image
from bureau.errors import BadInput

DEB822 = """\
Types: deb
URIs: http://mirror.gouv.tg/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.gouv.tg/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.gouv.tg/debian
Suites: bookworm
Components: main
"""

ONE_LINE = """\
# the state mirror
deb [arch=amd64] http://mirror.gouv.tg/debian/ bookworm main
deb http://mirror.gouv.tg/debian bookworm-updates main
deb http://security.gouv.tg/debian-security bookworm-security main
deb-src http://src.gouv.tg/debian bookworm main
"""


def _recipe(archive: str = "http://mirror.gouv.tg/debian") -> image.Recipe:
    return image.Recipe(
        suite="bookworm",
        mirrors=image.Mirrors(archive=archive, security=f"{archive}-security"),
    )


def test_same_recipe_same_tag() -> None:
    assert _recipe().tag == _recipe().tag
    assert len(_recipe().tag) == 12
    assert _recipe().name == f"localhost/bureau/debian12-systemd:{_recipe().tag}"


def test_other_mirror_other_tag() -> None:
    assert _recipe().tag != _recipe("http://other.gouv.tg/debian").tag


def test_other_suite_or_packages_other_tag() -> None:
    base = _recipe()
    trixie = image.Recipe(suite="trixie", mirrors=base.mirrors)
    more = image.Recipe(suite="bookworm", mirrors=base.mirrors, packages=(*base.packages, "vim"))
    assert len({base.tag, trixie.tag, more.tag}) == 3
    assert trixie.repository == "localhost/bureau/debian13-systemd"


def test_image_sources_carry_updates_and_security() -> None:
    sources = _recipe().apt_sources()
    assert "Suites: bookworm bookworm-updates" in sources
    assert "URIs: http://mirror.gouv.tg/debian-security" in sources
    assert "Suites: bookworm-security" in sources


def test_parse_deb822() -> None:
    assert image.parse_apt_sources([DEB822]) == image.Mirrors(
        archive="http://mirror.gouv.tg/debian",
        security="http://mirror.gouv.tg/debian-security",
    )


def test_parse_one_line_with_options_and_trailing_slash() -> None:
    assert image.parse_apt_sources([ONE_LINE]) == image.Mirrors(
        archive="http://mirror.gouv.tg/debian",
        security="http://security.gouv.tg/debian-security",
    )


def test_parse_without_security_derives_it() -> None:
    found = image.parse_apt_sources(["deb http://mirror.gouv.tg/debian bookworm main\n"])
    assert found == image.Mirrors(
        "http://mirror.gouv.tg/debian", "http://mirror.gouv.tg/debian-security"
    )


def test_parse_nothing() -> None:
    assert (
        image.parse_apt_sources(["# nothing\n", "deb-src http://x.gouv.tg/d bookworm main\n"])
        is None
    )


def test_host_mirrors_reads_both_forms(tmp_path: Path) -> None:
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text("# empty\n")
    (tmp_path / "etc/apt/sources.list.d/debian.sources").write_text(DEB822)
    found = image.host_mirrors(tmp_path)
    assert found is not None and found.archive == "http://mirror.gouv.tg/debian"


def test_resolve_recipe_prefers_options_then_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUREAU_MIRROR", "http://env.gouv.tg/debian/")
    monkeypatch.delenv("BUREAU_SECURITY_MIRROR", raising=False)
    monkeypatch.setattr(image, "host_mirrors", lambda: None)
    recipe = image.resolve_recipe("bookworm")
    assert recipe.mirrors == image.Mirrors(
        "http://env.gouv.tg/debian", "http://env.gouv.tg/debian-security"
    )
    recipe = image.resolve_recipe("bookworm", mirror="http://opt.gouv.tg/debian")
    assert recipe.mirrors.archive == "http://opt.gouv.tg/debian"
    with pytest.raises(BadInput):
        image.resolve_recipe("bookworm", mirror="not a url")
    with pytest.raises(BadInput):
        image.resolve_recipe("sid")
    monkeypatch.delenv("BUREAU_MIRROR")
    with pytest.raises(BadInput):
        image.resolve_recipe("bookworm")
