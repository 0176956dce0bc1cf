"""The safe-sharing page in words: a verdict first ("Not safe to share as it is: 176 of 176 records are unique on
these columns…"), then each figure with its label, the filters and the choices that lower the risk named as a
reader names them, never the report's keys (`records_at_risk`, `excluded_not_a_victim`, `meansOfControl`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

from htcds import codelists

# The CTDC codebook's quasi-identifier families (htcds.deid.ctdc_kanon.QI_FAMILIES).
FAMILIES = {
    "yearOfRegistration": gettext_lazy("Year of registration"),
    "Datasource": gettext_lazy("Data source"),
    "gender": gettext_lazy("Gender"),
    "age": gettext_lazy("Age"),
    "majorityAtExploitation": gettext_lazy("Minor or adult when exploited"),
    "citizenship": gettext_lazy("Citizenship"),
    "CountryOfExploitation": gettext_lazy("Country of exploitation"),
    "typeOfExploitation": gettext_lazy("Type of exploitation"),
    "meansOfControl": gettext_lazy("Means of control"),
    "typeOfLabour": gettext_lazy("Type of labour"),
    "typeOfSex": gettext_lazy("Type of sexual exploitation"),
    "isAbduction": gettext_lazy("Abduction"),
    "recruiterRelation": gettext_lazy("Relation to the recruiter"),
}

# What each filter of the CTDC table counted (htcds.deid.ctdc.CTDCExport.counts).
FILTERS = {
    "records_in": gettext_lazy("Records considered"),
    "excluded_no_research_consent": gettext_lazy("Left out: no consent to research use"),
    "excluded_not_a_victim": gettext_lazy("Left out: not a possible or actual victim"),
    "excluded_repeat_participation": gettext_lazy(
        "Left out: the same person again (only their first registration counts)"
    ),
    "records_out": gettext_lazy("Records that may leave"),
}

# One step coarser (htcds.deid.ctdc_kanon.trade_offs: "coarsen to <level>").
COARSER = {
    "majorityStatus": gettext_lazy("Keep only minor or adult"),
    "5-year period": gettext_lazy("Keep only the 5-year period"),
    "subRegion": gettext_lazy("Keep only the region of the world"),
    "intermediateRegion": gettext_lazy("Keep only the region of the world"),
}

# The CTDC columns the page compares with a published dataset (views.COMPARED), and their coded values.
COLUMNS = {
    "gender": gettext_lazy("Gender"),
    "ageBroad": gettext_lazy("Age"),
    "isSexualExploit": gettext_lazy("Sexual exploitation"),
    "isForcedLabour": gettext_lazy("Forced labour"),
    # and the other columns an aggregate table may count by (releases.AGGREGATE_COLUMNS)
    "citizenship": gettext_lazy("Citizenship"),
    "CountryOfExploitation": gettext_lazy("Country of exploitation"),
    "yearOfRegistration": gettext_lazy("Year of registration"),
    "isOtherExploit": gettext_lazy("Other exploitation"),
}
VALUES = {
    "1": gettext_lazy("Yes"),
    "0": gettext_lazy("No"),
    "(missing)": gettext_lazy("Not recorded"),
    "Female": pgettext_lazy("CTDC gender", "Female"),
    "Male": pgettext_lazy("CTDC gender", "Male"),
    "Transgender": pgettext_lazy("CTDC gender", "Transgender"),
    "Unknown": pgettext_lazy("CTDC gender", "Unknown"),
}

KINDS = {
    "ctdc": gettext_lazy("k-anonymised microdata (CTDC columns)"),
    "synthetic": gettext_lazy("Synthetic data"),
    "aggregate": gettext_lazy("Aggregate table"),
}


@dataclass(frozen=True)
class Verdict:
    safe: bool
    text: str
    figures: list[tuple[str, str]]


def column(code: str) -> str:
    return str(COLUMNS.get(code, code))


def purpose(code: str) -> str:
    """A spend's stored purpose (releases: "aggregate genderxageBroad", "synthetic microdata") as a reader names
    it: "Aggregate table by Gender and Age". The stored code stays as it is: the ledger is data, this is its label."""
    if code.startswith("aggregate "):
        names = _columns_joined(code.removeprefix("aggregate "))
        if names:
            return _("Aggregate table by %(columns)s") % {"columns": words_list([column(c) for c in names])}
    if code == "synthetic microdata":
        return str(KINDS["synthetic"])
    return code


def _columns_joined(text: str) -> list[str] | None:
    """ "genderxisSexualExploit" back into its columns: they are joined with "x", which some names contain."""
    if not text:
        return []
    for name in COLUMNS:
        if text == name:
            return [name]
        if text.startswith(name + "x"):
            rest = _columns_joined(text[len(name) + 1 :])
            if rest:
                return [name, *rest]
    return None


def family(code: str) -> str:
    return str(FAMILIES.get(code, code))


def change(code: str) -> str:
    if code == "drop":
        return pgettext("a choice that lowers the risk", "Leave out of the file")
    level = code.removeprefix("coarsen to ")
    return str(COARSER.get(level, _("Coarsen one step")))


def words_list(items: list[str]) -> str:
    """ "Gender, Age and Citizenship" in the reader's language (CLDR list patterns: Arabic joins with و)."""
    from babel.lists import format_list

    return format_list(items, locale=codelists.cldr_locale((get_language() or "en")[:2])) if items else ""


def num(n: int) -> str:
    return number_format(n, force_grouping=True)


def percent(share: float) -> str:
    return _("%(p)s%%") % {"p": number_format(round(100 * share, 1), decimal_pos=1)}


def verdict(risk: dict[str, Any]) -> Verdict:
    """The risk report (htcds.deid.risk.RiskReport.to_json) as a verdict in words, then its figures."""
    n, k, at_risk = int(risk["n_records"]), int(risk["k_threshold"]), int(risk["records_at_risk"])
    uniques, smallest = int(risk["sample_uniques"]), int(risk["min_class_size"])
    if risk["is_k_anonymous"]:
        text = ngettext(
            "Safe to share at k = %(k)s: every record looks like at least %(m)s other on these columns.",
            "Safe to share at k = %(k)s: every record looks like at least %(m)s others on these columns.",
            smallest - 1,
        ) % {"k": k, "m": num(smallest - 1)}
    else:
        text = ngettext(
            "Not safe to share as it is: %(u)s of %(n)s record is unique on these columns; at k = %(k)s, "
            "%(r)s records (%(p)s) are in groups smaller than k and would be coarsened or withheld.",
            "Not safe to share as it is: %(u)s of %(n)s records are unique on these columns; at k = %(k)s, "
            "%(r)s records (%(p)s) are in groups smaller than k and would be coarsened or withheld.",
            n,
        ) % {"u": num(uniques), "n": num(n), "k": k, "r": num(at_risk), "p": percent(float(risk["share_at_risk"]))}
    figures = [
        (
            _("Columns an outsider may know (quasi-identifiers)"),
            words_list([family(q) for q in risk["quasi_identifiers"]]),
        ),
        (_("Groups of records that look alike"), num(int(risk["n_classes"]))),
        (_("Smallest group"), num(smallest)),
        (_("Records unique on these columns"), num(uniques)),
        (_("Records in groups smaller than k"), f"{num(at_risk)} ({percent(float(risk['share_at_risk']))})"),
    ]
    if risk.get("riskiest_quasi_identifier"):
        figures.append((_("The column that adds most risk"), family(str(risk["riskiest_quasi_identifier"]))))
    return Verdict(bool(risk["is_k_anonymous"]), text, figures)


def filters(counts: dict[str, int]) -> list[tuple[str, str]]:
    return [(str(FILTERS.get(key, key)), num(value)) for key, value in counts.items()]


def trade_offs(options: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"change": change(str(o["change"])), "family": family(str(o["family"])),
             "records_at_risk": num(int(o["records_at_risk"]))} for o in options]  # fmt: skip
