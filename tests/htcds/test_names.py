"""Country and language names in the reader's language come from CLDR (through Babel), none typed by hand."""

from __future__ import annotations

import pycountry

from htcds.codelists import country_name, language_name


def test_it_names_countries_and_languages_in_the_readers_language() -> None:
    assert country_name("US", "fr") == "États-Unis"
    assert country_name("US", "ar") == "الولايات المتحدة"
    assert country_name("CD", "ru") == "Конго - Киншаса"
    assert language_name("amh", "fr") == "Amharique" and language_name("tir", "ar") == "التغرينية"
    assert language_name("por", "pt") == "Português"


def test_it_keeps_the_iso_english_name_for_files() -> None:
    assert country_name("GB") == pycountry.countries.get(alpha_2="GB").name  # files and exports: unchanged
    assert country_name("XX", "fr") == "XX"


def test_it_has_an_arabic_name_for_every_country_and_spoken_language() -> None:
    latin = [c.alpha_2 for c in pycountry.countries if country_name(c.alpha_2, "ar").isascii()]
    assert latin == []
    languages = [lg.alpha_3 for lg in pycountry.languages if hasattr(lg, "alpha_2")]
    untranslated = [code for code in languages if language_name(code, "ar").isascii()]
    assert len(untranslated) < len(languages) // 10  # iso-codes left half of them in English
