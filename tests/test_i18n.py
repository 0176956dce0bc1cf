"""Every shipped language is complete: a page, message or HTCDS label left untranslated fails here."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "phare" / "locale"
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.getenv("CI"):
            pytest.fail(f"{tool} (Debian package gettext) is required in CI")
        pytest.skip(f"{tool} not installed (apt-get install gettext)")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def msgids(po: Path) -> set[str]:
    """msgids of a .po file, joining continued lines; the header's empty msgid left out. A msgid with a context
    is keyed as gettext keys it, the context and the msgid joined by EOT: "Change" the verb and "Change" the noun
    are two strings."""
    ids: set[str] = set()
    current: list[str] = []
    field, context = "", ""

    def text() -> str:
        return unescape("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', "".join(current))))

    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if field and line.startswith('"'):
            current.append(line)
            continue
        if field == "msgctxt":
            context = text()
        elif field == "msgid":
            if text():
                ids.add(f"{context}\x04{text()}" if context else text())
            context = ""
        field = ""
        if line.startswith(("msgctxt ", "msgid ")):
            field, _, rest = line.partition(" ")
            current = [rest]
    return ids


def test_it_lists_every_catalogue_label_for_translation() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    from build_catalogue_strings import OUT, render

    assert OUT.read_text(encoding="utf-8") == render(), "run tools/build_catalogue_strings.py"


@pytest.mark.parametrize("lang", SHIPPED)
def test_it_ships_a_complete_compiled_translation(lang: str) -> None:
    need("msgfmt")
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert po.exists(), f"no translation for {lang}"
    out = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    stats = out.stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, f"{lang}: {stats.strip()}"
    assert mo.exists(), f"{lang}: compile it (phare compilemessages)"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    singular = {k if isinstance(k, str) else k[0] for k in compiled}
    stale = msgids(po) - singular
    assert not stale, f"{lang}: the compiled catalogue lacks {len(stale)} strings; run phare compilemessages"


def test_it_has_every_string_of_the_source_in_every_language(tmp_path: Path) -> None:
    need("xgettext")
    work = tmp_path / "src"
    shutil.copytree(ROOT / "phare", work / "phare", ignore=shutil.ignore_patterns("locale", "__pycache__", "static"))
    (work / "phare" / "locale").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "xx", "--no-location", "--no-obsolete"],
                   cwd=work / "phare", env={**env, "DJANGO_SETTINGS_MODULE": "phare.settings"},
                   check=True, capture_output=True)  # fmt: skip
    wanted = msgids(work / "phare" / "locale" / "xx" / "LC_MESSAGES" / "django.po")
    assert len(wanted) > 300
    for lang in SHIPPED:
        missing = wanted - msgids(LOCALE / lang / "LC_MESSAGES" / "django.po")
        assert not missing, f"{lang} lacks {len(missing)} strings, e.g. {sorted(missing)[:5]}"
