"""The CTDC-like table generator follows the bundled published frequencies."""

from __future__ import annotations

from htcds.deid.sample import ctdc_like_table, published_frequencies


def test_it_follows_the_published_marginals() -> None:
    table = ctdc_like_table(20_000, seed=4)
    assert all(len(col) == 20_000 for col in table.values())
    published = dict(published_frequencies()["marginals"]["gender"])
    female_share = published["Female"] / (published["Female"] + published["Male"])
    observed = table["gender"].count("Female") / 20_000
    assert abs(observed - female_share) < 0.02
    assert set(table["ageBroad"]) <= {v for v, _ in published_frequencies()["marginals"]["ageBroad"]}
    minors = [m for a, m in zip(table["ageBroad"], table["majorityStatus"], strict=True) if a == "9--17"]
    assert set(minors) == {"Minor"}
    assert all(isinstance(y, int) and 2002 <= y <= 2018 for y in table["yearOfRegistration"])


def test_it_is_reproducible() -> None:
    assert ctdc_like_table(500, seed=1) == ctdc_like_table(500, seed=1)
    assert ctdc_like_table(500, seed=1) != ctdc_like_table(500, seed=2)


def test_it_writes_flags_and_unknowns_the_way_ctdc_does() -> None:
    # The benchmarks and the CTDC-layout fixtures read these columns as CTDC's own: "0"/"1" strings and
    # "(missing)", one recruiter relation per person, means of control unknown exactly when "not specified".
    table = ctdc_like_table(3_000, seed=5)
    flags = [c for c in table if c.startswith(("is", "meansOfControl", "typeOf", "recruiterRelation"))]
    assert all(type(v) is str and v in ("0", "1", "(missing)") for c in flags for v in table[c])
    relations = [c for c in table if c.startswith("recruiterRelation")]
    assert all([table[c][i] for c in relations].count("1") == 1 for i in range(3_000))
    not_specified = table["meansOfControlNotSpecified"]
    for c in (c for c in table if c.startswith("meansOfControl") and c != "meansOfControlNotSpecified"):
        assert all((v == "(missing)") == (ns == "1") for v, ns in zip(table[c], not_specified, strict=True))
    for c in ("majorityEntry", "majorityStatusAtExploit"):
        values = list(zip(table[c], table["majorityStatus"], strict=True))
        assert all(v in ("(missing)", m) for v, m in values)
        assert 0 < sum(v == "(missing)" and m != "(missing)" for v, m in values) < 3_000
    assert set(table["isOtherExploit"]) == {"0", "1"}
