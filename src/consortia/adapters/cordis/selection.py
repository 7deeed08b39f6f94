"""Which projects count as consortia (:class:`Selection`): enough participants in the
counted roles and a collaborative kind of grant (:func:`scheme_source`); every project
left out is listed with the rule(s) it fails and why."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from consortia.adapters.cordis.export import PART_SEPARATOR, RECORD

# Roles whose organisations count towards a project's participants (Selection): the
# beneficiaries that sign the grant agreement and their linked third parties, which are
# funded through them. Other roles (MSCA partner organisations, Horizon Europe associated
# partners) receive no EC contribution: their rows are written as members, but a project
# is not a consortium on their account.
DEFAULT_COUNTED_ROLES: tuple[str, ...] = ("coordinator", "participant", "thirdParty")


# Funding schemes that fund one researcher, one host or one company, matched as
# case-insensitive shell patterns: investigator grants (ERC), individual
# fellowships and reintegration grants (Marie Curie / MSCA), co-funding of one
# body's fellowship programme (COFUND), the SME instrument and EIC accelerator.
DEFAULT_EXCLUDED_SCHEMES: tuple[str, ...] = (
    "ERC-*", "HORIZON-ERC*",
    "MC-IEF", "MC-IIF", "MC-IOF", "MC-IIFR", "MC-CIG", "MC-IRG", "MC-ERG", "MC-COFUND",
    "MSCA-IF*", "*MSCA-PF*", "*MSCA-COFUND*",
    "SME-1", "SME-2*", "*EIC-ACC*",
)  # fmt: skip


# Programme parts that fund one investigator's team, matched the same way; used instead
# of the funding schemes when the export has none. "ERC" as in CORDIS programme-part
# lists; H2020-EU.1.1 (H2020), FP7-IDEAS-ERC (FP7) and HORIZON.1.1 (Horizon Europe) as in
# legalBasis. The MSCA and SME parts mix networks with individual fellowships and
# single-company grants: the participant threshold separates those.
DEFAULT_EXCLUDED_PARTS: tuple[str, ...] = ("ERC", "H2020-EU.1.1*", "FP7-IDEAS-ERC*", "HORIZON.1.1*")


# Why a project is not a consortium (excluded_projects.csv `rule`, joined by "; " when
# it fails several).
RULE_FEW_PARTICIPANTS = "fewer_participants"


RULE_FUNDING_SCHEME = "funding_scheme"


RULE_PROGRAMME_PART = "programme_part"


EXCLUSION_RULES = (RULE_FEW_PARTICIPANTS, RULE_FUNDING_SCHEME, RULE_PROGRAMME_PART)


@dataclass(frozen=True)
class Selection:
    """Which projects count as consortia for analysis: at least ``min_participants``
    distinct organisations in a ``counted_roles`` role, and a kind of grant that is
    collaborative: a funding scheme matching none of ``exclude_funding_schemes`` or, in an
    export without funding schemes, programme parts matching none of
    ``exclude_programme_parts`` (:func:`scheme_source`)."""

    min_participants: int = 3
    counted_roles: tuple[str, ...] = DEFAULT_COUNTED_ROLES
    exclude_funding_schemes: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMES
    exclude_programme_parts: tuple[str, ...] = DEFAULT_EXCLUDED_PARTS

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> Selection:
        cfg = dict(cfg or {})
        keys = {"min_participants", "counted_roles", "exclude_funding_schemes",
                "exclude_programme_parts"}  # fmt: skip
        unknown = sorted(set(cfg) - keys)
        if unknown:
            raise ValueError(f"cordis.selection: unknown key(s) {unknown}")

        def patterns(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(str(p) for p in cfg.get(key, default))

        return cls(
            min_participants=int(cfg.get("min_participants", cls.min_participants)),
            counted_roles=patterns("counted_roles", DEFAULT_COUNTED_ROLES),
            exclude_funding_schemes=patterns("exclude_funding_schemes", DEFAULT_EXCLUDED_SCHEMES),
            exclude_programme_parts=patterns("exclude_programme_parts", DEFAULT_EXCLUDED_PARTS),
        )

    def as_dict(self) -> dict:
        return {
            "min_participants": self.min_participants,
            "counted_roles": list(self.counted_roles),
            "exclude_funding_schemes": list(self.exclude_funding_schemes),
            "exclude_programme_parts": list(self.exclude_programme_parts),
        }

    def excluded_pattern(self, values: pd.Series, source: str) -> pd.Series:
        """The first exclusion pattern each value of ``scheme_or_part`` matches (missing
        where none does): funding schemes against ``exclude_funding_schemes``; programme
        parts (several joined by :data:`PART_SEPARATOR`) part by part against
        ``exclude_programme_parts``."""
        if source == SCHEME_FROM_FUNDING_SCHEME:
            patterns = self.exclude_funding_schemes
        else:
            patterns = self.exclude_programme_parts
        first = {}
        for value in values.unique():
            parts = [value] if source == SCHEME_FROM_FUNDING_SCHEME else value.split(PART_SEPARATOR)
            first[value] = next(
                (
                    p
                    for part in parts
                    for p in patterns
                    if part and fnmatch.fnmatchcase(part.upper(), p.upper())
                ),
                None,
            )
        return values.map(first)


# Where scheme_or_part comes from (source.json `scheme_or_part.source`).
SCHEME_FROM_FUNDING_SCHEME = "fundingScheme"


SCHEME_FROM_PARTS_FILE = "programme_parts"


SCHEME_FROM_LEGAL_BASIS = "legalBasis"


def scheme_source(projects: pd.DataFrame, has_parts_file: bool) -> str:
    """Which column says what kind of grant a project is: the funding scheme when the
    export has any; otherwise the programme part, from the programme-parts file when one is
    given, else from ``legalBasis`` (the code of the programme part in an official
    export)."""
    if (projects["fundingScheme"] != "").any():
        return SCHEME_FROM_FUNDING_SCHEME
    return SCHEME_FROM_PARTS_FILE if has_parts_file else SCHEME_FROM_LEGAL_BASIS


# What scheme_or_part is, by source (source.json, the accounting page).
SCHEME_RULES = {
    SCHEME_FROM_FUNDING_SCHEME: "scheme_or_part = fundingScheme; projects whose funding scheme "
    "matches selection.exclude_funding_schemes are excluded (rule funding_scheme)",
    SCHEME_FROM_PARTS_FILE: "the export has no fundingScheme: scheme_or_part = the project's "
    "programme parts from the programme-parts file (several joined by '+'); projects with a "
    "part matching selection.exclude_programme_parts are excluded (rule programme_part)",
    SCHEME_FROM_LEGAL_BASIS: "the export has no fundingScheme and no programme-parts file was "
    "given: scheme_or_part = legalBasis (the code of the programme part); projects whose "
    "legalBasis matches selection.exclude_programme_parts are excluded (rule programme_part)",
}


def projects_left_out(
    projects: pd.DataFrame, organizations: pd.DataFrame, selection: Selection, source: str
) -> pd.DataFrame:
    """One row per project the selection leaves out: every rule it fails (``rule``) and
    why (``reasons``)."""
    few = projects["participants"] < selection.min_participants
    pattern = selection.excluded_pattern(projects["scheme_or_part"], source)
    kind_rule = RULE_FUNDING_SCHEME if source == SCHEME_FROM_FUNDING_SCHEME else RULE_PROGRAMME_PART
    kind = pattern.notna()
    out = projects.loc[few | kind]
    few, kind, pattern = few[out.index], kind[out.index], pattern[out.index]
    few_text = (
        f"fewer than {selection.min_participants} distinct participants in the roles "
        f"{', '.join(selection.counted_roles)} (" + out["participants"].astype(str) + ")"
    )
    what = "funding scheme" if kind_rule == RULE_FUNDING_SCHEME else "programme part"
    kind_text = what + " " + out["scheme_or_part"] + " is not collaborative (matches "
    kind_text = kind_text + pattern.fillna("") + ")"
    rule = np.select(
        [few & kind, few], [f"{RULE_FEW_PARTICIPANTS}; {kind_rule}", RULE_FEW_PARTICIPANTS],
        kind_rule,
    )  # fmt: skip
    reasons = np.select([few & kind, few], [few_text + "; " + kind_text, few_text], kind_text)
    rows = organizations["projectID"].value_counts()
    return pd.DataFrame(
        {
            "project_id": out["id"],
            "acronym": out["acronym"],
            "funding_scheme": out["fundingScheme"],
            "programme_part": out["programme_part"],
            "framework_programme": out["frameworkProgramme"],
            "start_date": out["startDate"],
            "participants": out["participants"],
            "organization_rows": out["id"].map(rows).fillna(0).astype(int),
            "rule": rule,
            "reasons": reasons,
            "record": out[RECORD],
        }
    ).reset_index(drop=True)
