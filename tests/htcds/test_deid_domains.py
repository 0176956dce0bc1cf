"""Public domains of the CTDC columns: every category a DP release may hold comes from a code list or a declared
year range, never from the data; a recorded value outside its column's domain is released as missing."""

from __future__ import annotations

import pytest

from htcds.deid._table import MISSING
from htcds.deid.domains import FLAG, GENDERS, MAJORITY, coerce, countries, ctdc_domain, ctdc_domains, years


def test_it_declares_the_years_from_first_to_last_inclusive() -> None:
    assert years(2020, 2020) == ("2020", MISSING)
    assert years(2018, 2020) == ("2018", "2019", "2020", MISSING)
    with pytest.raises(ValueError, match="the year range 2021-2020 is empty"):
        years(2021, 2020)


def test_it_gives_each_column_its_own_code_list() -> None:
    domains = ctdc_domains(["yearOfRegistration", "citizenship", "gender", "majorityStatus", "isForcedLabour"],
                           first_year=2019, last_year=2020)  # fmt: skip
    assert domains == {"yearOfRegistration": ("2019", "2020", MISSING), "citizenship": countries(),
                       "gender": GENDERS, "majorityStatus": MAJORITY, "isForcedLabour": FLAG}  # fmt: skip
    assert "NG" in domains["citizenship"] and ctdc_domain("CountryOfExploitation") == countries()
    # CTDC's age bands and its data sources are code lists too: a flag's 0/1 would erase them.
    assert ctdc_domain("ageBroad") == ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47",
                                       "48+", MISSING)  # fmt: skip
    assert ctdc_domain("Datasource") != FLAG and "Case Management" in ctdc_domain("Datasource")


def test_it_releases_a_value_outside_its_domain_as_missing_and_counts_it_for_the_internal_report() -> None:
    domains = ctdc_domains(["gender", "citizenship"])
    rows, moved = coerce([{"gender": "Female", "citizenship": "NG"}, {"gender": "Female", "citizenship": "XX"},
                          {"gender": "Other", "citizenship": "GH", "name": "dropped"}], domains)  # fmt: skip
    assert rows == [{"gender": "Female", "citizenship": "NG"}, {"gender": "Female", "citizenship": MISSING},
                    {"gender": MISSING, "citizenship": "GH"}]  # fmt: skip
    assert moved == {"gender": 1, "citizenship": 1}
