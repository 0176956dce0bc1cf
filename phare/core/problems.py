"""Problems in the reader's language.

htcds has no Django and writes its messages in English, naming the values involved. Every problem also carries a
stable code, and each code has one sentence (htcds.validation.CODES, htcds.sources.problems.SOURCE_CODES) that
the translations cover. A reader in English gets htcds's own message; any other reader gets the code's sentence
in their language, since pages show the row, column, value and fix beside it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext

from htcds.sources.problems import SOURCE_CODES
from htcds.validation import CODES

SENTENCES = {**CODES, **SOURCE_CODES}


def problem_message(code: str, message: str, detail: bool = False) -> str:
    """The message to show for a problem; with `detail`, a translated sentence keeps the English message after it
    (for problems whose message says more than the page shows, such as which column a mapping names)."""
    if (get_language() or "en").split("-")[0] == "en":
        return message
    sentence = SENTENCES.get(code)
    if sentence is None:
        return message
    translated = gettext(sentence)
    return f"{translated} ({message})" if detail and message and message != sentence else translated


def message_of(problem: Any) -> str:
    """`problem_message` for a Problem or its report dict."""
    if isinstance(problem, dict):
        return problem_message(str(problem.get("code", "")), str(problem.get("message") or ""))
    return problem_message(problem.code, problem.message)
