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
