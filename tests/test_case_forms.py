"""The forms that lost work or blocked saving (issue 19), each fault with the test that failed before."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Case, CaseComment, CaseParticipant, Consent, Person, TraffickingEvent
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_it_saves_latitude_and_longitude_typed_as_numbers() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    r = _client(worker).post(f"/cases/{case.number}/events/add/", {"hte_Type": "Exploitation", "hte_Country": "NG",
                                                                 "hte_Latitude": "6.33", "hte_Longitude": "-3.5"})  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:3000]
    ev = TraffickingEvent.objects.get(case=case)
    assert (ev.hte_Latitude, ev.hte_Longitude) == ("6.33", "-3.5")


def test_it_refuses_an_impossible_latitude_next_to_the_field() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    r = _client(worker).post(f"/cases/{case.number}/events/add/", {"hte_Type": "Exploitation", "hte_Latitude": "96"})
    assert r.status_code == 200 and 'id="id_hte_Latitude_error"' in r.content.decode()
    assert not TraffickingEvent.objects.exists()


def test_it_keeps_a_too_long_comment_and_says_the_limit() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    cl = _client(worker)
    page = cl.get(f"/cases/{case.number}/comments/add/").content.decode()
    assert 'maxlength="20000"' in page and "At most 20000 characters" in page
    text = "word " * 4001  # 20,005 characters
    r = cl.post(f"/cases/{case.number}/comments/add/", {"cco_CaseComment": text, "cco_CreatedDate": "2024-05-01"})
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="error-summary"' in html and 'href="#id_cco_CaseComment"' in html
    assert text.strip() in html  # what was typed is still there
    assert not CaseComment.objects.exists()


def test_it_answers_a_form_over_the_servers_limit_with_a_page_that_says_what_to_do() -> None:
    from django.conf import settings

    worker = make_user(make_org())
    case = make_case(worker)
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    r = _client(worker).post(f"/cases/{case.number}/comments/add/", {"cco_CaseComment": text, "cco_CreatedDate": "2024-05-01"})
    html = r.content.decode()
    assert r.status_code == 413 and "This form is larger than Phare accepts" in html
    assert "2.5 MB" in html and "back button" in html and "at most 20000 characters" in html
    assert 'class="top"' in html  # the site's page, its menu kept, not a bare "Bad Request (400)"
    assert not CaseComment.objects.exists()
    # An API client gets JSON.
    from tests.test_api import bearer, token_for

    r = Client().post("/api/v1/cases", data="[" + "1," * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + "1]",
                      content_type="application/json", **bearer(token_for(worker)))  # fmt: skip
    assert r.status_code == 413 and r.json()["detail"].startswith("The request body is over 2.5 MB")


def test_it_refuses_an_empty_new_case_form() -> None:
    worker = make_user(make_org())
    r = _client(worker).post("/cases/new/", {"role": "Victim"})
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="error-summary"' in html and 'href="#id_p-prs_FirstName"' in html and 'href="#id_p-prs_Gender"' in html
    assert not Case.objects.exists() and not Person.objects.exists()


def test_it_opens_a_case_with_an_alias_and_an_age_only() -> None:
    worker = make_user(make_org())
    r = _client(worker).post("/cases/new/", {"role": "Victim", "p-alias": "Blue", "v-vic_AgeWhenTrafficked": "16"})
    assert r.status_code == 302, r.content.decode()[:2000]
    person = Person.objects.get()
    assert person.alias == "Blue" and str(person) == "«Blue»"


def test_it_refuses_a_nameless_person_whatever_the_door() -> None:
    worker = make_user(make_org())
    with pytest.raises(actions.Invalid):
        actions.open_case(worker, person_data={"prs_Gender": "Feminine"})
    assert not Case.objects.exists()


@pytest.mark.parametrize("typed", ["0803 123 4567", "0803.123.4567", "+234 (0)803-123-4567", "00234 803 123 4567"])
def test_it_reads_phone_numbers_as_typed_with_the_organisations_country(typed: str) -> None:
    org = make_org()
    org.org_ShippingCountry = "NG"
    org.save()
    worker = make_user(org)
    r = _client(worker).post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Ada", "p-prs_Gender": "Feminine",
                                             "p-prs_MobilePhone": typed})  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:3000]
    assert Person.objects.get().prs_MobilePhone == "+2348031234567"


def test_it_explains_a_bad_phone_number_without_jargon() -> None:
    worker = make_user(make_org())
    r = _client(worker).post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Ada", "p-prs_Gender": "Feminine",
                                             "p-prs_MobilePhone": "12"})  # fmt: skip
    html = r.content.decode()
    assert r.status_code == 200 and "country code" in html and "E.164" not in html


def test_it_never_ticks_consent_in_advance_and_needs_purpose_and_date() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    cl = _client(worker)
    page = cl.get(f"/cases/{case.number}/consents/add/").content.decode()
    box = page.split('name="con_Consent"')[0].rsplit("<input", 1)[1] + page.split('name="con_Consent"')[1].split(">")[0]
    assert "checked" not in box
    r = cl.post(f"/cases/{case.number}/consents/add/", {"con_Consent": "on"})
    html = r.content.decode()
    assert r.status_code == 200 and 'href="#id_con_Purpose"' in html and 'href="#id_con_Date"' in html
    assert not Consent.objects.exists()
    r = cl.post(f"/cases/{case.number}/consents/add/", {"con_Consent": "on", "con_Purpose": ["CaseManagement"],
                                                        "con_Date": "2024-05-01"})  # fmt: skip
    assert r.status_code == 302 and Consent.objects.get().con_Consent is True


def test_it_keeps_a_closed_case_read_only_until_reopened() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    actions.close_case(worker, case, reason="Back home")
    cl = _client(worker)
    page = cl.get(f"/cases/{case.number}/comments/add/").content.decode()
    assert "closed and read-only" in page
    r = cl.post(f"/cases/{case.number}/comments/add/", {"cco_CaseComment": "late note", "cco_CreatedDate": "2024-05-01"})
    assert r.status_code == 200 and "reopen it" in r.content.decode()
    assert not CaseComment.objects.exists()
    with pytest.raises(actions.Invalid):
        actions.add_event(worker, case, {"hte_Type": "Exploitation"})
    case_page = cl.get(f"/cases/{case.number}/").content.decode()
    assert "closed and read-only" in case_page
    actions.reopen_case(worker, case)
    actions.add_comment(worker, case, "now it can")


def test_it_preselects_the_only_person_of_the_case() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    person = CaseParticipant.objects.get(case=case).person
    page = _client(worker).get(f"/cases/{case.number}/plans/add/").content.decode()
    assert f'<option value="{person.pk}" selected>' in page


def test_it_asks_only_what_fits_a_perpetrator_and_labels_every_field() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    page = _client(worker).get(f"/cases/{case.number}/people/add/?role=Perpetrator").content.decode()
    assert "prs_HighestLevelOfEducation" not in page and "prs_NumberOfChildren" not in page
    assert ">per_Organisation<" not in page and "Organisation of the perpetrator" in page


def test_it_folds_the_rest_of_the_intake_behind_sections() -> None:
    worker = make_user(make_org())
    page = _client(worker).get("/cases/new/").content.decode()
    intake = page.split('id="create"')[1].split("<details")[0]
    assert "id_p-prs_FirstName" in intake and "id_p-alias" in intake and "id_p-prs_Gender" in intake
    assert "id_p-prs_MailingStreet" not in intake and "id_p-prs_MailingStreet" in page
    assert 'name="p-prs_Citizenship" value="NG"' in page and "<select name=\"p-prs_Citizenship\"" not in page


# --- deleting a case, merging two records ---------------------------------------------------------------


def test_it_lets_a_supervisor_delete_a_mistaken_case_with_a_reason() -> None:
    org = make_org()
    worker, boss = make_user(org), make_user(org, Role.SUPERVISOR)
    case = make_case(worker)
    kept = make_case(worker, first="Kemi")
    person = CaseParticipant.objects.get(case=case).person
    assert _client(worker).post(f"/cases/{case.number}/delete/", {"reason": "x", "confirm": "on"}).status_code == 404
    cl = _client(boss)
    r = cl.post(f"/cases/{case.number}/delete/", {"reason": "", "confirm": "on"})
    assert r.status_code == 200 and Case.objects.filter(pk=case.pk).exists()
    r = cl.post(f"/cases/{case.number}/delete/", {"reason": "Opened twice by mistake", "confirm": "on"})
    assert r.status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists() and not Person.objects.filter(pk=person.pk).exists()
    assert Case.objects.filter(pk=kept.pk).exists()
    ev = AuditEvent.objects.get(action="case.deleted")
    assert ev.detail["reason"] == "Opened twice by mistake" and ev.detail["persons_deleted"] == [str(person.uid)]


def test_it_merges_two_records_of_one_person_keeping_every_record() -> None:
    org = make_org()
    worker, boss = make_user(org), make_user(org, Role.SUPERVISOR)
    first = make_case(worker, person={"prs_MobilePhone": ""})
    second = make_case(worker, person={"prs_Birthdate": date(1999, 4, 2), "prs_MobilePhone": "+2348031234567",
                                       "prs_Citizenship": ["NG"]})  # fmt: skip
    actions.add_comment(worker, second, "seen at the clinic")
    keep = CaseParticipant.objects.get(case=first).person
    other = CaseParticipant.objects.get(case=second).person
    actions.record_consent(worker, second, {"con_Consent": True, "con_Purpose": ["CaseManagement"], "person": other})
    cl = _client(boss)
    page = cl.get(f"/cases/{first.number}/people/{keep.uid}/merge/").content.decode()
    assert str(other.uid) in page and "April 2, 1999" in page  # the other record's birth date, as it reads
    assert _client(worker).get(f"/cases/{first.number}/people/{keep.uid}/merge/").status_code == 404
    r = cl.post(f"/cases/{first.number}/people/{keep.uid}/merge/", {"other": str(other.uid)})
    assert r.status_code == 302
    keep.refresh_from_db()
    assert not Person.objects.filter(pk=other.pk).exists()
    assert set(CaseParticipant.objects.filter(person=keep).values_list("case_id", flat=True)) == {first.pk, second.pk}
    assert Consent.objects.get().person_id == keep.pk
    assert keep.prs_MobilePhone == "+2348031234567" and keep.prs_Citizenship == ["NG"]
    assert CaseComment.objects.filter(case=second).exists()
    ev = AuditEvent.objects.get(action="person.merged")
    assert ev.detail["merged"] == str(other.uid)
    assert actions.match_ids(org.id, {"prs_MobilePhone": "+2348031234567"})[0][0] == keep.pk


# --- the printed case -------------------------------------------------------------------------------------


def test_it_prints_the_case_with_what_the_reader_may_see_and_audits_it() -> None:
    org = make_org()
    worker, analyst = make_user(org), make_user(org, Role.ANALYST)
    case = make_case(worker)
    actions.add_comment(worker, case, "Interview at the shelter.")
    r = _client(worker).get(f"/cases/{case.number}/print.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert r["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action="case.printed", actor=worker).exists()
    from phare.cases import printing

    seen: list[str] = []
    real = printing.visual_lines

    def spy(text: str, *a: Any, **kw: Any) -> list[str]:
        seen.append(text)
        return real(text, *a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(printing, "visual_lines", spy)
        _client(worker).get(f"/cases/{case.number}/print.pdf")
        printed_for_worker = "\n".join(seen)
        seen.clear()
        assert _client(analyst).get(f"/cases/{case.number}/print.pdf").status_code == 200
        printed_for_analyst = "\n".join(seen)
    assert "Amaka" in printed_for_worker and "Interview at the shelter." in printed_for_worker
    assert "CONFIDENTIAL" in printed_for_worker and "printed for" in printed_for_worker
    # The field rule: an analyst's copy has the case, never a name, a birth date or a comment's text.
    assert case.number in printed_for_analyst
    assert "April 2, 1999" in printed_for_worker  # the birth date, as the reader reads it
    for secret in ("Amaka", "Obi", "1999-04-02", "April 2, 1999", "Interview at the shelter."):
        assert secret not in printed_for_analyst, secret


def test_it_prints_arabic_joined_and_right_to_left() -> None:
    from phare.cases.printing import visual_lines

    lines = visual_lines("الحالة 2024-000001 مغلقة", "Helvetica", 10, 400, rtl=True)
    assert len(lines) == 1
    line = lines[0]
    # Joined forms (Arabic presentation forms), the last word of the sentence first, the case number kept whole.
    assert all(not ("\u0600" <= ch <= "\u06ff") for ch in line)
    assert line.index("2024-000001") > 0 and line.startswith("\ufe94")  # ة final form of مغلقة, drawn leftmost
    worker = make_user(make_org())
    worker.language = "ar"
    worker.save()
    case = make_case(worker)
    r = _client(worker).get(f"/cases/{case.number}/print.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and b"DejaVuSans" in r.content


def test_it_shows_every_change_of_the_case_on_the_timeline_with_who() -> None:
    org = make_org()
    worker, analyst = make_user(org, username="amina"), make_user(org, Role.ANALYST)
    case = make_case(worker)
    person = CaseParticipant.objects.get(case=case).person
    ev = actions.add_event(worker, case, {"hte_Type": "Exploitation"})
    actions.update_event(worker, ev, {"hte_Type": "Transit"})
    actions.add_support_plan(worker, case, {"spl_Type": "Health"})
    actions.update_person(worker, person, {"prs_MobilePhone": "+2348031234567"})
    actions.set_programme(worker, case, "Shelter")
    actions.add_comment(worker, case, "A long note. " * 60)
    html = _client(worker).get(f"/cases/{case.number}/").content.decode()
    timeline = html.split('id="timeline"')[1].split("</section>")[0]
    for line in ("Added: trafficking event", "Changed: trafficking event (Type)", "Added: support plan",
                 "Changed: person (Mobile Phone)", "Changed: case (Programme)", "Case opened"):  # fmt: skip
        assert line in timeline, line
    assert timeline.count("amina") >= 7
    assert "<details" in timeline and "Read all" in timeline  # the long comment is folded
    seen_by_analyst = _client(analyst).get(f"/cases/{case.number}/").content.decode()
    assert "Changed: person (Mobile Phone)" in seen_by_analyst and "A long note." not in seen_by_analyst


def test_it_finds_a_known_person_by_a_local_phone_number() -> None:
    org = make_org()
    org.org_ShippingCountry = "NG"
    org.save()
    worker = make_user(org)
    make_case(worker, first="Esi", second="Mensah", person={"prs_MobilePhone": "+2348031234567"})
    page = _client(worker).get("/cases/new/", {"prs_MobilePhone": "0803 123 4567"}).content.decode()
    assert "Esi Mensah" in page.split('id="matches"')[1]
