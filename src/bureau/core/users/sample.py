"""Realistic sample agents for rehearsals and benchmarks: Togolese names, the
ministries of the Togolese government, plausible titles, phones and quotas.
The same count and seed always give the same file."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator

from bureau.core.users.csvinput import COLUMNS
from bureau.core.users.reference import ministries, names

TITLES = (
    "Agent administratif",
    "Secrétaire",
    "Chargé d'études",
    "Comptable",
    "Inspecteur",
    "Attaché d'administration",
    "Chef de service",
    "Chef de division",
    "Directeur",
    "Directeur général",
    "Conseiller technique",
    "Ingénieur",
    "Technicien supérieur",
    "Assistant de direction",
    "Infirmier d'État",
    "Professeur certifié",
)
# Relative sizes: education and health employ most civil servants.
WEIGHTS = {
    "men": 30,
    "msh": 15,
    "mesr": 5,
    "metfp": 5,
    "mef": 6,
    "mspc": 5,
    "marmees": 5,
    "maep": 4,
}
QUOTAS = (None, None, None, 1024, 2048, 4096, 10240)


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("22", "22", "90", "91", "92", "93", "70", "99", "98"))
    rest = " ".join(f"{rng.randrange(100):02d}" for _ in range(3))
    return f"+228 {prefix} {rest}"


def rows(count: int, seed: int = 1) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    catalogue = names()
    codes = list(ministries())
    weights = [WEIGHTS.get(code, 1) for code in codes]
    for number in range(count):
        female = rng.random() < 0.45
        given = rng.choice(catalogue.female if female else catalogue.male)
        quota = rng.choice(QUOTAS)
        yield {
            "given_name": given,
            "surname": rng.choice(catalogue.surnames),
            "ministry": rng.choices(codes, weights)[0].upper(),
            "title": rng.choice(TITLES),
            "phone": _phone(rng) if rng.random() < 0.9 else "",
            "mail": "",
            "aliases": "",
            "quota": str(quota) if quota else "",
            "uid": "",
            "employee_id": f"TG{seed:02d}{number + 1:07d}",
        }


def csv_text(count: int, seed: int = 1) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(count, seed))
    return out.getvalue()
