"""The bundles an export writes, read as tuples (phare.imports.exporting), are exactly those the model instances
gave before: compared key for key and in order, on a generated organisation with the awkward cases added (a person
in two cases, an erased person, a value written before encryption, a case with no victim), and through every
writer. A token moved to another row still stops the export, as reading an instance does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, models

from htcds.catalogue import load
from htcds.sources import export as writers
from phare.cases.demo import create_demo
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import keys
from phare.crypto.fields import TamperedValueError
from phare.imports import exporting
from phare.imports.exporting import case_bundles, sheet_bundles, template_rows

pytestmark = pytest.mark.django_db(transaction=False)

_LISTS = (("referrals", Referral), ("consents", Consent), ("events", TraffickingEvent), ("support_plans", SupportPlan),
          ("comments", CaseComment), ("assessments", Assessment))  # fmt: skip


# --- the path before: one model instance per row (kept here as the reference the fast path must equal) ---------
def _record(obj: models.Model) -> dict[str, Any]:
    cat = load()
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name not in cat:
            continue
        value = getattr(obj, f.attname)
        if value in (None, "", []):
            continue
        if f.is_relation:  # a lookup by its name (a user's username, an organisation's name), none without one
            other = f.related_model.objects.filter(pk=value).first()
            value = str(
                getattr(other, "username", None)
                or getattr(other, "org_Name", None)
                or getattr(other, "name", None)
                or ""
            )
            if not value:
                continue
        out[f.name] = value.isoformat() if isinstance(value, date) else value
    return out


def _reference(cases: models.QuerySet[Case], lists: tuple[str, ...] | None = None) -> Iterator[dict[str, Any]]:
    for case in cases.order_by("id"):
        participants = list(CaseParticipant.objects.filter(case=case).select_related("person").order_by("id"))
        persons: dict[int, dict[str, Any]] = {}
        parts = []
        for p in participants:
            persons.setdefault(p.person_id, {"id": str(p.person.uid), **_record(p.person)})
            parts.append({"person": str(p.person.uid), "role": p.role, **_record(p)})
        uids = {p.person_id: str(p.person.uid) for p in participants}
        bundle: dict[str, Any] = {"htcds_version": "2.0", "case": {"id": case.number, **_record(case)},
                                  "persons": list(persons.values()), "participants": parts}  # fmt: skip
        for key, model in _LISTS:
            if lists is not None and key not in lists:
                continue
            out = []
            for row in model.objects.filter(case=case).order_by("id"):
                rec = _record(row)
                if key == "referrals":
                    rec = {"direction": row.direction, **rec}  # type: ignore[attr-defined]
                if key == "assessments":
                    rec["answers"] = row.answers  # type: ignore[attr-defined]
                person_id = getattr(row, "person_id", None)
                if person_id in uids:
                    rec["person"] = uids[person_id]
                out.append(rec)
            if out:
                bundle[key] = out
        yield bundle


# --- a generated organisation with the awkward cases ----------------------------------------------------------
@pytest.fixture
def demo_cases(monkeypatch: pytest.MonkeyPatch) -> models.QuerySet[Case]:
    monkeypatch.setattr(exporting, "CHUNK", 7)  # several chunks, the last one short
    monkeypatch.setattr(exporting, "PAD", 4)
    result = create_demo(40, slug="exp", seed=11)
    cases = Case.objects.filter(organisation=result.organisation)
    first, second, third, fourth = list(cases.order_by("id")[:4])
    # One person in two cases (a bundle of each names them), as a witness in the second.
    victim = CaseParticipant.objects.filter(case=first).order_by("id").first()
    assert victim is not None
    CaseParticipant.objects.create(organisation=result.organisation, case=second, person=victim.person, role="Witness")
    # An erased person: the values sealed with their key read as nothing.
    erased = CaseParticipant.objects.filter(case=third).order_by("id").first()
    assert erased is not None
    keys.shred_person(erased.person.uid)
    keys.reset_caches()
    # A value written before encryption existed, read as it is.
    comment = CaseComment.objects.filter(organisation=result.organisation).order_by("id").first()
    assert comment is not None
    with connection.cursor() as cur:
        cur.execute(
            'UPDATE cases_casecomment SET "cco_CaseComment" = %s WHERE id = %s', ["written in clear", comment.pk]
        )
    # A case whose only participant is not a victim.
    CaseParticipant.objects.filter(case=fourth).update(role="Witness")
    # A case whose victim is not its first participant.
    fifth = cases.order_by("id")[4]
    CaseParticipant.objects.filter(case=fifth).update(role="Witness")
    later = Person.objects.create(organisation=result.organisation, prs_FirstName="Later", prs_Gender="Feminine")
    CaseParticipant.objects.create(organisation=result.organisation, case=fifth, person=later, role="Victim")
    return cases


def _dumped(bundles: Any) -> list[str]:
    return [json.dumps(b, ensure_ascii=False, indent=1) for b in bundles]


def test_it_reads_the_same_bundles_as_the_model_instances_did(demo_cases: models.QuerySet[Case]) -> None:
    new = _dumped(case_bundles(demo_cases))
    assert len(new) == 40
    assert new == _dumped(_reference(demo_cases))
    text = "\n".join(new)
    assert "written in clear" in text and '"role": "Witness"' in text and '"answers"' in text
    assert '"cas_CaseOwner": "exp-caseworker"' in text  # a lookup by its name, not an id
    # The erased person is still listed, with nothing sealed under their key.
    third = demo_cases.order_by("id")[2]
    bundle = next(json.loads(b) for b in new if json.loads(b)["case"]["id"] == third.number)
    person = bundle["persons"][0]
    assert "prs_FirstName" not in person and person["id"]
    # Only what the query selects leaves.
    some = demo_cases.filter(cas_Status="Active")
    assert _dumped(case_bundles(some)) == _dumped(_reference(some)) != []


def test_it_exports_nothing_of_a_list_that_matches_nothing(demo_cases: models.QuerySet[Case]) -> None:
    """A list no case can match (a name search a role may not run, a search that finds nobody) exports no case,
    in every format, instead of failing: Django runs no query for it."""
    for nothing in (demo_cases.none(), demo_cases.filter(id__in=[])):
        assert list(case_bundles(nothing)) == []
        assert list(sheet_bundles(nothing)) == []
        assert list(exporting.template_chunks(nothing)) == []
        assert list(template_rows(nothing)) == []


def test_it_writes_the_same_files_as_before(demo_cases: models.QuerySet[Case], tmp_path: Path) -> None:
    # A sheet reads only what its rows show: the same rows, in every layout.
    for options in ({}, {"labels": True}, {"extended": True}, {"include_ids": False}, {"native": True}):
        new = list(writers.sheet_rows(sheet_bundles(demo_cases, extended="extended" in options), **options))
        assert new == list(writers.sheet_rows(_reference(demo_cases), **options)) and len(new) == 42
    for name, write, read in (("csv", writers.write_csv, sheet_bundles), ("json", writers.write_json, case_bundles),
                              ("xlsx", writers.write_xlsx, sheet_bundles)):  # fmt: skip
        write(read(demo_cases), tmp_path / f"new.{name}")
        write(_reference(demo_cases), tmp_path / f"old.{name}")
        if name != "xlsx":  # an XLSX holds its time of writing: compare its cells
            assert (tmp_path / f"new.{name}").read_bytes() == (tmp_path / f"old.{name}").read_bytes()
    # A CSV export's rows, built from the columns without bundles: the same rows, the same file.
    assert list(template_rows(demo_cases)) == list(writers.sheet_rows(_reference(demo_cases)))[2:]
    assert exporting.write_template_csv(exporting.template_chunks(demo_cases), tmp_path / "rows.csv") == 40
    assert (tmp_path / "rows.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    from openpyxl import load_workbook

    cells = [
        [[c.value for c in row] for row in load_workbook(tmp_path / f"{v}.xlsx").active.iter_rows()]
        for v in ("new", "old")
    ]
    assert cells[0] == cells[1] and len(cells[0]) == 42


def test_it_refuses_a_token_moved_to_another_persons_row(demo_cases: models.QuerySet[Case]) -> None:
    a, b = (p.person for p in CaseParticipant.objects.filter(case__in=demo_cases).select_related("person")[:2])
    with connection.cursor() as cur:
        cur.execute('SELECT "prs_FirstName" FROM cases_person WHERE id = %s', [a.pk])
        token = cur.fetchone()[0]
        assert token.startswith("v1:")
        cur.execute('UPDATE cases_person SET "prs_FirstName" = %s WHERE id = %s', [token, b.pk])
    with pytest.raises(TamperedValueError):
        list(case_bundles(demo_cases))
    with pytest.raises(TamperedValueError):
        list(_reference(demo_cases))



def _move_a_victims_name(cases: models.QuerySet[Case]) -> None:
    """A victim's sealed first name copied onto another victim's row (both persons a sheet row shows)."""
    # By id alone: reading a person whose value an earlier step of the test moved would stop here.
    victims = CaseParticipant.objects.filter(case__in=cases, role="Victim").order_by("-id")
    a, b = victims.values_list("person_id", flat=True)[:2]
    with connection.cursor() as cur:
        cur.execute('SELECT "prs_FirstName" FROM cases_person WHERE id = %s', [a])
        token = cur.fetchone()[0]
        assert token.startswith("v1:")
        cur.execute('UPDATE cases_person SET "prs_FirstName" = %s WHERE id = %s', [token, b])


def test_a_sheet_refuses_a_token_moved_to_another_victims_row(demo_cases: models.QuerySet[Case]) -> None:
    _move_a_victims_name(demo_cases)
    with pytest.raises(TamperedValueError):
        list(sheet_bundles(demo_cases))
    with pytest.raises(TamperedValueError):
        list(template_rows(demo_cases))


def test_it_keeps_no_persons_key_once_their_chunk_is_read(demo_cases: models.QuerySet[Case]) -> None:
    # An export unwraps every person's key; each is dropped with its chunk of cases, not kept in the process's
    # cache (nor the fingerprints' memo, keyed by the key itself) for minutes after.
    from phare.accounts.models import OrganisationKey

    keys.reset_caches()
    bundles = list(case_bundles(demo_cases)) + list(sheet_bundles(demo_cases))
    assert len(list(template_rows(demo_cases))) == 40  # (whose keys cross to the writing process by chunk)
    assert sum("prs_FirstName" in p for b in bundles for p in b["persons"]) > OrganisationKey.objects.count()
    assert [kid for kid in keys._cache if kid.startswith("p")] == []
    assert keys.fingerprint.cache_info().currsize <= OrganisationKey.objects.count()  # the organisations' keys


def test_it_gives_the_writing_process_person_keys_wrapped(demo_cases: models.QuerySet[Case]) -> None:
    # A CSV chunk crosses with its people's keys as their rows hold them (unwrapped over there), never opened here;
    # the values it opens are those of the in-process rows, an erased person's included.
    from phare.crypto.fields import TokenOpener

    chunks = list(exporting.template_chunks(demo_cases))
    token_of_kid = next(v for v in chunks[0].held[1]["prs_FirstName"] if v and v.startswith("v1:p"))
    kid, table_uid = token_of_kid.split(":")[1:3]
    known, wrapped, wrapping = chunks[0].keys
    assert wrapped and all(kid.startswith("p") for kid in wrapped)
    assert not any(kid.startswith("p") and key is not None for kid, key in known.items())
    erased = [kid for chunk in chunks for kid, key in chunk.keys[0].items() if key is None]
    assert erased  # the erased person's key: none given, their values read as nothing
    subject, text, wk_pk = wrapped[kid]
    person = Person.objects.get(uid=table_uid)
    opener = TokenOpener.with_keys(known, wrapped, wrapping)
    assert opener.open_column("cases_person", "prs_FirstName", [token_of_kid], [table_uid]) == [person.prs_FirstName]
    # A key that the fingerprint in the id does not name reads as destroyed, as person_key_by_id says it.
    fp = kid.partition(".")[2]
    other = kid.replace(fp, "0" * len(fp) if fp != "0" * len(fp) else "1" * len(fp))
    opener = TokenOpener.with_keys({}, {other: (subject, text, wk_pk)}, wrapping)
    assert opener.open_column("cases_person", "prs_FirstName", [token_of_kid.replace(kid, other)], [table_uid]) == [None]
    # A wrapped key altered, a key not given, or its wrapping key missing: refused.
    for given in ({kid: (subject, text[:-4] + ("AAAA" if text[-4:] != "AAAA" else "BBBB"), wk_pk)}, {}):
        with pytest.raises(TamperedValueError):
            TokenOpener.with_keys({}, given, wrapping).open_column("cases_person", "prs_FirstName", [token_of_kid],
                                                                   [table_uid])  # fmt: skip
    with pytest.raises(TamperedValueError):
        TokenOpener.with_keys({}, wrapped, {}).open_column("cases_person", "prs_FirstName", [token_of_kid], [table_uid])


def test_it_looks_up_each_wrapping_key_once_for_a_whole_export(demo_cases: models.QuerySet[Case]) -> None:
    # The organisation keys wrapping person keys are kept from one chunk to the next (a query and an unwrap for
    # every chunk were a twentieth of a CSV export's reading); a chunk is given the same keys either way.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from phare.crypto.fields import TokenOpener

    chunk = next(iter(exporting.template_chunks(demo_cases)))
    columns = [chunk.held[source][name] for source, name, *_ in chunk.sealed]
    seen: dict[int, bytes] = {}
    first = TokenOpener().keys_for(columns, seen)
    assert first == TokenOpener().keys_for(columns) and first[2]
    assert seen == first[2]
    with CaptureQueriesContext(connection) as remembered:
        assert TokenOpener().keys_for(columns, seen) == first
    with CaptureQueriesContext(connection) as looked_up:
        assert TokenOpener().keys_for(columns) == first
    wrapping_rows = [q for q in looked_up.captured_queries if 'FROM "accounts_organisationkey"' in q["sql"]]
    assert len(wrapping_rows) == len(first[2])
    assert not any('FROM "accounts_organisationkey"' in q["sql"] for q in remembered.captured_queries)
    assert len(remembered.captured_queries) == len(looked_up.captured_queries) - len(first[2])


def _failing_writer(bundles: Any, path: Any) -> int:
    for n, _ in enumerate(bundles):
        if n == 20:
            raise RuntimeError("the disk is full")
    return 0


def test_it_writes_the_same_files_in_a_second_process(demo_cases: models.QuerySet[Case], tmp_path: Path,
                                                      settings: Any) -> None:  # fmt: skip
    # The file a large export's child process makes (phare.imports.writing) is byte for byte the in-process one,
    # to a path the user chose and to a file kept sealed.
    from phare.crypto.sealed import SealedFile
    from phare.imports import writing

    org = demo_cases.first().organisation  # type: ignore[union-attr]
    for name, write, read in (("csv", writers.write_csv, sheet_bundles), ("json", writers.write_json, case_bundles)):
        assert write(read(demo_cases), tmp_path / f"here.{name}") == 40
        assert writing.write(write, read(demo_cases), tmp_path / f"child.{name}") == 40
        assert (tmp_path / f"child.{name}").read_bytes() == (tmp_path / f"here.{name}").read_bytes()
        sealed = SealedFile(tmp_path / f"sealed.{name}", org.pk, "export")
        assert writing.write(write, read(demo_cases), sealed) == 40
        assert sealed.read_bytes() == (tmp_path / f"here.{name}").read_bytes()
        assert not sealed.read_bytes().startswith(b"htcds")  # (it is sealed: the bytes on disk are not the text)
        assert (tmp_path / f"here.{name}").read_bytes()[:20] not in (tmp_path / f"sealed.{name}").read_bytes()
    # export_cases takes that road for a large export, and records it as ever.
    from phare.accounts.models import User
    from phare.audit.models import AuditEvent
    from phare.imports import actions

    settings.PHARE_EXPORT_WRITER_MIN_CASES = 1
    used: list[int] = []
    real = writing.write

    def spy(*args: Any, **kwargs: Any) -> int:
        used.append(1)
        return real(*args, **kwargs)

    actor = next(u for u in User.objects.filter(organisation=org, is_active=True) if actions.may_export(u))
    before = AuditEvent.objects.filter(action="export.cases").count()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writing, "write", spy)
        assert actions.export_cases(actor, demo_cases, "csv", tmp_path / "page.csv") == 40
    assert used and (tmp_path / "page.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert AuditEvent.objects.filter(action="export.cases").count() == before + 1


def test_it_leaves_no_file_when_the_second_process_or_the_reading_fails(demo_cases: models.QuerySet[Case],
                                                                         tmp_path: Path) -> None:  # fmt: skip
    import multiprocessing

    from phare.crypto.sealed import SealedFile
    from phare.imports import writing

    org = demo_cases.first().organisation  # type: ignore[union-attr]
    out = SealedFile(tmp_path / "fails.csv", org.pk, "export")
    with pytest.raises(writing.WriteError, match="the disk is full"):
        writing.write(_failing_writer, sheet_bundles(demo_cases), out)
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []
    # A token moved to another row stops the reading (in this process): the child is stopped, nothing is kept.
    a, b = (p.person for p in CaseParticipant.objects.filter(case__in=demo_cases).select_related("person")[:2])
    with connection.cursor() as cur:
        cur.execute('SELECT "prs_FirstName" FROM cases_person WHERE id = %s', [a.pk])
        cur.execute('UPDATE cases_person SET "prs_FirstName" = %s WHERE id = %s', [cur.fetchone()[0], b.pk])
    with pytest.raises(TamperedValueError):
        writing.write(writers.write_json, case_bundles(demo_cases), out)
    # A CSV's values are opened in the writing process, with the keys this one gives it: the same refusal.
    _move_a_victims_name(demo_cases)
    with pytest.raises(TamperedValueError):
        writing.write(exporting.write_template_csv, map(tuple, exporting.template_chunks(demo_cases)), out,
                      per_message=1, cases=exporting.template_chunk_cases)  # fmt: skip
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []


class _Text(str):
    pass


def test_it_hands_the_child_any_bundle_whole() -> None:
    # Bundles travel by marshal (they hold what JSON holds), and by pickle when something else slipped in.
    from phare.imports import writing

    plain = [{"case": {"id": "2024-000001", "n": 3, "x": [1.5, True, None]}, "persons": []}]
    odd = [{"case": {"id": _Text("2024-000002"), "on": date(2024, 1, 2)}}]
    assert writing._packed(plain)[:1] == b"m" and writing._unpacked(writing._packed(plain)) == plain
    assert writing._packed(odd)[:1] == b"p" and writing._unpacked(writing._packed(odd)) == odd
