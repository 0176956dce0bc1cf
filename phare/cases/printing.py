"""The printable case: a PDF of the case in the reader's language and script, Arabic included, with "confidential"
and the reader's name and the time on every page. It shows what the case page shows the same reader, no more:
every value goes through `phare.access.field_shown` (the page's own `_record_fields` and `_shown_text`).

Arabic: reportlab draws glyphs left to right as given. Each line is wrapped in logical order on the reshaped text
(letters in their joined forms, arabic_reshaper), then put in visual order (python-bidi) and drawn right-aligned;
runs of digits and Latin letters (case numbers, dates) are isolated so that they keep their own order. The font
is DejaVu Sans, shipped in phare/cases/fonts (Latin, Cyrillic and Arabic in one face; its licence beside it)."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, get_language_bidi
from django.utils.translation import gettext as _

from phare.core.locale import shown_day

FONTS = Path(__file__).parent / "fonts"
_LTR = "0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff@#"  # digits, Latin, Greek, Cyrillic
# A run that keeps its own left-to-right order inside Arabic: words, numbers, dates, a signed number, with the
# spaces and joiners between them (a Latin name of two words stays in its order).
_LTR_RUN = re.compile(rf"[-+]?[{_LTR}](?:[{_LTR}\-/:.+_' ]*[{_LTR}])?")
_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")


@cache
def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("PhareSans", str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("PhareSans-Bold", str(FONTS / "DejaVuSans-Bold.ttf")))
    return "PhareSans", "PhareSans-Bold"


def visual_lines(text: str, font: str, size: float, width: float, rtl: bool) -> list[str]:
    """`text` cut into lines that fit `width`, each in the order its glyphs are drawn."""
    from reportlab.lib.utils import simpleSplit

    if not rtl:
        return [line for para in text.splitlines() or [""] for line in simpleSplit(para, font, size, width) or [""]]
    import arabic_reshaper
    from bidi import get_display

    out: list[str] = []
    for para in text.splitlines() or [""]:
        shaped = arabic_reshaper.reshape(_LTR_RUN.sub(lambda m: f"\u2066{m.group(0)}\u2069", para))
        for line in simpleSplit(shaped, font, size, width) or [""]:
            out.append(get_display(line, base_dir="R").translate(_ISOLATES))
    return out


class _Writer:
    """Paragraphs and tables in the reader's direction."""

    def __init__(self, rtl: bool, width: float) -> None:
        from reportlab.lib.enums import TA_LEFT, TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle

        regular, bold = _fonts()
        self.rtl, self.width = rtl, width
        align = TA_RIGHT if rtl else TA_LEFT
        self.styles = {
            "h1": ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, alignment=align, spaceAfter=4),
            "h2": ParagraphStyle("h2", fontName=bold, fontSize=12.5, leading=16, alignment=align, spaceBefore=10, spaceAfter=3),
            "h3": ParagraphStyle("h3", fontName=bold, fontSize=10.5, leading=13, alignment=align, spaceBefore=6),
            "p": ParagraphStyle("p", fontName=regular, fontSize=9.5, leading=12.5, alignment=align),
            "key": ParagraphStyle("key", fontName=bold, fontSize=9, leading=12, alignment=align, textColor="#4a5568"),
        }  # fmt: skip

    def para(self, text: str, style: str = "p", width: float | None = None) -> Any:
        from reportlab.platypus import Paragraph

        st = self.styles[style]
        lines = visual_lines(str(text), st.fontName, st.fontSize, (width or self.width) - 4, self.rtl)
        return Paragraph("<br/>".join(escape(line) for line in lines), st)

    def pairs(self, rows: list[tuple[str, str]]) -> Any:
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        if not rows:
            return self.para("—")
        kw, vw = self.width * 0.34, self.width * 0.66
        cells = [[self.para(k, "key", kw), self.para(v, "p", vw)] for k, v in rows]
        if self.rtl:
            cells = [[v, k] for k, v in cells]
        table = Table(cells, colWidths=[vw, kw] if self.rtl else [kw, vw], hAlign="RIGHT" if self.rtl else "LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dde1e7")),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2)]))  # fmt: skip
        return table


def case_pdf(ctx: dict[str, Any], reader: Any) -> bytes:
    """The PDF of a case from the case page's own context (`phare.cases.views.case_context`)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    rtl = bool(get_language_bidi())
    regular, bold = _fonts()
    margin = 16 * mm
    width = A4[0] - 2 * margin
    w = _Writer(rtl, width)
    case = ctx["case"]
    h = ctx["header"]
    who = reader.get_full_name() or reader.username
    stamp = date_format(timezone.localtime(), "DATETIME_FORMAT")

    def page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        top = A4[1] - 9 * mm
        conf = visual_lines(_("CONFIDENTIAL"), bold, 9, width, rtl)[0]
        line = visual_lines(_("Case %(n)s · printed for %(who)s on %(at)s · page %(p)s") % {
            "n": case.number, "who": who, "at": stamp, "p": doc.page}, regular, 8, width, rtl)[0]  # fmt: skip
        canvas.setFillColorRGB(0.7, 0.1, 0.1)
        canvas.setFont(bold, 9)
        (canvas.drawRightString if rtl else canvas.drawString)(A4[0] - margin if rtl else margin, top, conf)
        canvas.setFillColorRGB(0.3, 0.3, 0.3)
        canvas.setFont(regular, 8)
        (canvas.drawString if rtl else canvas.drawRightString)(margin if rtl else A4[0] - margin, top, line)
        canvas.drawCentredString(A4[0] / 2, 8 * mm, conf)
        canvas.restoreState()

    story: list[Any] = [w.para(h["name"] or _("Case %(n)s") % {"n": case.number}, "h1")]
    facts = [(_("Case"), case.number), (_("Status"), str(ctx["status_label"]))]
    facts += [(label, value) for label, value in ((_("Age"), h["age"]), (_("Gender"), h["sex"]),
                                                  (_("Citizenship"), h["nationality"])) if value]  # fmt: skip
    facts += [(_("Consent"), h["consent"]), (_("Case Owner"), _owner(case)),
              (_("Date opened"), shown_day(case.cas_OpenedDate))]  # fmt: skip
    if h.get("next_due"):
        facts.append((_("Next due"), shown_day(h["next_due"])))
    if case.cas_ClosedDate:
        facts.append((_("Date closed"), shown_day(case.cas_ClosedDate)))
    if ctx["closure_reason"]:
        facts.append((_("Reason for Case Closure"), ctx["closure_reason"]))
    if ctx["exploitation"]:
        facts.append((_("Type of Exploitation"), ctx["exploitation"]))
    if ctx["trafficking"]:
        facts.append((_("Trafficking Status"), ctx["trafficking"]))
    if case.programme:
        facts.append((_("Programme"), case.programme))
    story.append(w.pairs(facts))

    story.append(w.para(_("People"), "h2"))
    for x in ctx["people"]:
        story += [w.para(f"{x['name']} · {x['p'].get_role_display()}", "h3"), w.pairs(x["fields"] + x["context"])]
    sections = (
        (_("Trafficking events"), [x["fields"] for x in ctx["events"]]),
        (_("Support plans"), [x["fields"] for x in ctx["plans"]]),
        (_("Consents"), [x["fields"] for x in ctx["consents"]]),
        (_("Assessments"), [x["fields"] for x in ctx["assessments"]]),
        (_("Referrals"), [[(_("Direction"), str(x["r"].get_direction_display())), *x["fields"]] for x in ctx["referrals"]]),
    )  # fmt: skip
    for title, items in sections:
        if items:
            story.append(w.para(title, "h2"))
            for fields in items:
                story += [w.pairs(fields), Spacer(1, 4)]
    if ctx.get("documents"):
        story.append(w.para(_("Documents"), "h2"))
        story.append(w.pairs([(str(d.get_kind_display()), f"{d.title or d.filename} · {shown_day(timezone.localtime(d.uploaded_at).date())}")
                              for d in ctx["documents"]]))  # fmt: skip
    story.append(w.para(_("Timeline"), "h2"))
    story.append(w.pairs([(f"{shown_day(t['day'])} · {_who(t['who'])}", f"{t['what']}{': ' + t['text'] if t['text'] else ''}")
                          for t in ctx["timeline"]]))  # fmt: skip
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=16 * mm,
                            bottomMargin=14 * mm, title=f"{_('Case')} {case.number}", author="Phare",
                            lang=get_language() or "en")  # fmt: skip
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buf.getvalue()


def _owner(case: Any) -> str:
    return str(case.owner_name) or "—"


def _who(user: Any) -> str:
    return (user.get_full_name() or user.username) if user else "—"
