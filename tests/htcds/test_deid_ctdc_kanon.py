"""k-anonymity over a CTDC file's codebook families, and the cheaper choices offered beside it."""

from __future__ import annotations

import pytest

from htcds.deid.ctdc_kanon import anonymise_ctdc, trade_offs

# (gender, ageBroad, majorityStatus): three women, one a minor; three boys, two in the same band.
PEOPLE = [("Female", "18--20", "Adult"), ("Female", "21--23", "Adult"), ("Female", "9--17", "Minor"),
          ("Male", "0--8", "Minor"), ("Male", "9--17", "Minor"), ("Male", "9--17", "Minor")]  # fmt: skip


def _rows(people: list[tuple[str, str, str]] = PEOPLE) -> list[dict[str, object]]:
    return [{"gender": g, "ageBroad": a, "majorityStatus": m, "citizenship": "NG", "caseNote": f"note {i}"}
            for i, (g, a, m) in enumerate(people)]  # fmt: skip


def test_it_generalises_the_age_family_and_carries_the_other_columns_row_by_row() -> None:
    adults = [("Female", "24--26", "Adult") if p == ("Female", "9--17", "Minor") else p for p in PEOPLE]
    out = anonymise_ctdc(_rows(adults), k=3, suppression_budget=0.0, drop=["citizenship"])
    # Age bands single people out; Minor/Adult does not (three women, three boys).
    assert out.result.level_names["age"] == "majorityStatus" and out.result.levels["gender"] == 0
    assert [(r["gender"], r["ageBroad"], r["majorityStatus"]) for r in out.rows] == [
        ("Female", "Adult", "Adult"), ("Female", "Adult", "Adult"), ("Female", "Adult", "Adult"),
        ("Male", "Minor", "Minor"), ("Male", "Minor", "Minor"), ("Male", "Minor", "Minor"),
    ]  # fmt: skip
    # A column outside the codebook goes through untouched and stays with its record; a dropped family leaves.
    assert [r["caseNote"] for r in out.rows] == [f"note {i}" for i in range(6)]
    assert all("citizenship" not in r for r in out.rows)
    assert out.to_json()["dropped_families"] == ["citizenship"]


def test_it_leaves_a_file_that_is_k_anonymous_already_as_it_is() -> None:
    out = anonymise_ctdc(_rows(), k=1, drop=["notAFamily"])
    assert out.result.level_names["age"] == "ageBroad+majorityStatus"
    assert [(r["gender"], r["ageBroad"], r["majorityStatus"], r["citizenship"]) for r in out.rows] == [
        (*p, "NG") for p in PEOPLE
    ]


def test_it_refuses_a_file_without_rows() -> None:
    with pytest.raises(ValueError, match=r"^the file has no rows$"):
        anonymise_ctdc([], k=3)


def test_it_offers_dropping_or_coarsening_a_family_with_the_records_still_at_risk() -> None:
    options = trade_offs(_rows(), k=3)
    assert all(o["records_at_risk_now"] == 6 for o in options)
    got = {(o["change"], o["family"]): o["records_at_risk"] for o in options}
    # Minor/Adult leaves the one girl alone with the two women; dropping age leaves classes of three.
    assert got[("coarsen to majorityStatus", "age")] == 3
    assert got[("drop", "age")] == 0 and got[("drop", "gender")] == 3
    assert options[0]["records_at_risk"] == 0
