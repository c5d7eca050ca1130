"""uid and address generation from names."""

from __future__ import annotations

import pytest

from bureau.core.users import naming


@pytest.mark.parametrize(
    ("given", "surname", "uid"),
    [
        ("Kokou", "Agbéko", "kokou.agbeko"),
        ("Abla", "Adjo-Amégan", "abla.adjo-amegan"),
        ("Afi", "d'Almeida", "afi.dalmeida"),
        ("Marie-Claire", "d\u2019Almeida", "marie-claire.dalmeida"),
        ("Yao", "de Souza", "yao.de-souza"),
        ("Aïcha", "Ouro-Sama", "aicha.ouro-sama"),
        ("Essowèdéou", "Tchédré", "essowedeou.tchedre"),
        ("Jean  Baptiste", "Kpémissi", "jean-baptiste.kpemissi"),
    ],
)
def test_base_uid_folds_accents_and_keeps_hyphens(given: str, surname: str, uid: str) -> None:
    assert naming.base_uid(given, surname) == uid
    assert naming.valid_uid(uid)


def test_suffixes_start_at_two() -> None:
    assert [naming.with_suffix("yao.mensah", n) for n in (1, 2, 3)] == [
        "yao.mensah",
        "yao.mensah2",
        "yao.mensah3",
    ]


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("kokou.agbeko@gouv.tg", True),
        ("kokou@finances.gouv.tg", True),
        ("kokou@gouv.tg.example.org", False),
        ("kokou@example.org", False),
        ("kokou agbeko@gouv.tg", False),
        ("kokou@@gouv.tg", False),
        ("kokoù@gouv.tg", False),
    ],
)
def test_addresses_must_be_plain_and_in_the_domain(address: str, ok: bool) -> None:
    assert (naming.address_problem(address, "gouv.tg") is None) is ok
