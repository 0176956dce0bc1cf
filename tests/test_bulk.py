"""`phare.cases.bulk.insert`: rows written in bulk read back exactly as rows written by `save()`."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from django.db import connection, transaction

from phare.accounts.models import PersonKey
from phare.cases import bulk
from phare.cases.models import Case, CaseParticipant, Person
from phare.crypto import keys
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def test_it_writes_rows_that_read_back_like_saved_ones() -> None:
    org = make_org()
    worker = make_user(org)
    before = make_case(worker)  # ids exist already: bulk ids must come after them
    people = [Person(organisation=org, prs_FirstName=f"Name{i}", prs_Birthdate=date(1990, 1, i + 1),
                     prs_Citizenship=["NG", "GH"], prs_Gender="Feminine") for i in range(3)]  # fmt: skip
    # The case points at a person that has no id yet, as a bulk writer builds them.
    case = Case(organisation=org, number="X-1", seq=99, cas_OpenedDate=date(2024, 5, 1), primary_person=people[0])
    with transaction.atomic(), keys.bulk_scope():
        keys.create_person_keys(org.pk, [p.uid for p in people])
        bulk.insert(people, with_ids=True)
        bulk.insert([case], with_ids=True)
        bulk.insert([CaseParticipant(organisation=org, case=case, person=people[0], role="Victim",
                                     vic_TypeOfExploitation=["ForcedLabour"])])  # fmt: skip
    assert min(p.pk for p in people) > before.primary_person_id  # type: ignore[operator]
    for p in people:
        fresh = Person.objects.get(pk=p.pk)
        assert (fresh.prs_FirstName, fresh.prs_Birthdate, fresh.prs_Citizenship) == (p.prs_FirstName, p.prs_Birthdate, ["NG", "GH"])
        assert PersonKey.objects.filter(subject=p.uid).count() == 1
    stored = Case.objects.get(pk=case.pk)
    assert stored.primary_person_id == people[0].pk and stored.created is not None
    assert CaseParticipant.objects.get(case=stored).vic_TypeOfExploitation == ["ForcedLabour"]
    raw = Person.objects.filter(pk=people[0].pk).values_list("prs_FirstName", flat=True).query
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(*raw.sql_with_params())
        assert "Name0" not in str(cur.fetchone()[0])  # sealed at rest, like save()
    after = make_case(worker, first="Later")
    assert after.pk > case.pk  # the database's own ids carry on after the reserved ones


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_write_outside_a_transaction() -> None:
    org = make_org()
    with pytest.raises(RuntimeError):
        bulk.insert([Case(organisation=org, number="X-2", seq=1, cas_OpenedDate=date(2024, 1, 1))])


def test_it_refreshes_the_planners_statistics_after_a_bulk_load() -> None:
    from django.db import connection

    worker = make_user(make_org())
    for _ in range(3):
        make_case(worker)
    postgresql = connection.vendor == "postgresql"
    stats = ("SELECT reltuples FROM pg_class WHERE relname = 'cases_case'" if postgresql else
             "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cases_case'")  # fmt: skip

    def planner_rows() -> float:
        with connection.cursor() as cur:
            try:
                cur.execute(stats)
            except Exception:  # SQLite has no sqlite_stat1 table before its first ANALYZE
                return 0
            return float(cur.fetchone()[0] or 0)

    # PostgreSQL keeps the counts of an ANALYZE in an earlier test, rolled back or not: only the count after says.
    if not postgresql:
        assert planner_rows() <= 0  # the planner has not counted the new rows yet
    bulk.refresh_statistics([Case, Person])
    if postgresql:
        assert planner_rows() == 3  # the three cases counted
    else:
        assert planner_rows() >= 1  # the table's indexes analysed


def test_it_builds_rows_as_the_model_would() -> None:
    """`bulk.new` skips `Model.__init__`: every field must still hold what `__init__` would have put there."""
    org = make_org()
    person = Person.objects.create(organisation=org, prs_FirstName="Ada")
    values = {"organisation": org, "person": person, "role": "Victim", "vic_TypeOfExploitation": ["ForcedLabour"]}
    built, plain = bulk.new(CaseParticipant, **values), CaseParticipant(**values)
    per_row = {"uid"}  # a fresh uuid4 each time
    for f in CaseParticipant._meta.concrete_fields:
        if f.attname not in per_row:
            assert getattr(built, f.attname) == getattr(plain, f.attname), f.name
    assert built.uid != plain.uid and built.uid.version == 4
    assert built.person is person and built.organisation_id == org.pk  # no query for the related row
    assert built._state.adding and built._state.db is None
    assert bulk.new(Case, organisation_id=org.pk).organisation_id == org.pk  # attname accepted too
    with pytest.raises(TypeError, match="no field 'prs_Nickname'"):
        bulk.new(Person, organisation=org, prs_Nickname="x")


def test_it_uses_values_sealed_in_advance_only_when_they_still_match() -> None:
    """A reading process seals a new person's fields ahead of the writer (phare.crypto.fields.preseal_person);
    the writer completes each token with the key's row id, and seals afresh a value that changed since."""
    from phare.crypto.fields import PRESEALED_ATTR, preseal_person

    org = make_org()
    values = {"prs_FirstName": "Amina", "prs_SecondName": "Diallo", "prs_Birthdate": date(1990, 4, 2)}
    pre = preseal_person(Person, keys.active_org_key(org.pk, "data"), values)
    person = bulk.new(Person, organisation_id=org.pk, uid=pre.uid, **{**values, "prs_SecondName": "Dialo"})
    person.__dict__[PRESEALED_ATTR] = pre
    with transaction.atomic(), keys.bulk_scope():
        keys.create_person_keys(org.pk, [person.uid], {pre.uid_text: (pre.key, pre.wrapped, pre.wrap_pk)})
        bulk.insert([person], with_ids=True)
    keys.reset_caches()  # read back through the stored, wrapped key
    stored = Person.objects.get(pk=person.pk)
    assert (stored.prs_FirstName, stored.prs_SecondName, stored.prs_Birthdate) == ("Amina", "Dialo", date(1990, 4, 2))
    with connection.cursor() as cur:
        cur.execute('SELECT "prs_FirstName", "prs_SecondName" FROM cases_person WHERE id = %s', [person.pk])
        first_token, second_token = cur.fetchone()
    assert first_token.endswith(pre.sealed["prs_FirstName"][1])  # the body sealed in advance
    assert not second_token.endswith(pre.sealed["prs_SecondName"][1])  # changed since: sealed again
    assert PersonKey.objects.get(subject=pre.uid).wrapped == pre.wrapped


def test_the_written_out_row_gives_what_the_field_getters_give() -> None:
    """Each value's common case is written out inline in the row function; every value, common or not, must come
    out as its field's getter (the reference, as `save()` prepares it) gives it."""
    from phare.cases.models import PersonIndex, Referral
    from phare.crypto.fields import Opened

    org = make_org()
    worker = make_user(org)
    person = bulk.new(Person, organisation=org, prs_FirstName="Ada", prs_SecondName=Opened("Lovelace"),
                      prs_Birthdate=date(1990, 1, 2), prs_Citizenship=["NG"], prs_MiddleName="")  # fmt: skip
    kept = bulk.new(Person, organisation_id=org.pk, prs_FirstName="", prs_Citizenship=[])
    case = bulk.new(Case, organisation_id=org.pk, number="X-9", seq=9, cas_OpenedDate=date(2024, 5, 1),
                    cas_CaseOwner=worker, primary_person=person, exploitation_summary="|ForcedLabour|")  # fmt: skip
    referral = bulk.new(Referral, organisation_id=org.pk, case=case, direction="Incoming")
    index = bulk.new(PersonIndex, organisation_id=org.pk, person_id=7, kind="name", digest="abc")
    case.number = Opened("X-9")  # a value of a class the written-out case does not take: the getter's path
    with transaction.atomic(), keys.bulk_scope():
        keys.create_person_keys(org.pk, [person.uid, kept.uid])
        person.pk, kept.pk, case.pk = 10**6, 10**6 + 1, 10**6  # the related rows' ids, known by now
        for obj in (person, kept, case, referral, index):
            fields = [f for f in type(obj)._meta.concrete_fields]
            row = bulk._row_function(fields, connection)(obj)
            reference = tuple(bulk._getter(f, connection)(obj) for f in fields)
            assert len(row) == len(reference)
            for f, got, want in zip(fields, row, reference, strict=True):
                if f.name in {"prs_FirstName", "prs_SecondName", "prs_Birthdate"} and want:
                    # Sealed afresh each time (a new nonce): the same key, row and value all the same.
                    assert got.rsplit(":", 1)[0] == want.rsplit(":", 1)[0], f.name
                elif getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
                    assert type(got) is type(want), f.name  # each getter stamps its own batch
                else:  # PostgreSQL's JSON adapter compares by identity: compare what it wraps
                    assert getattr(got, "obj", got) == getattr(want, "obj", want), f.name
                    assert type(got) is type(want), f.name


def test_rows_given_as_values_are_written_as_the_same_instances_would_be() -> None:
    from phare.cases.models import PersonIndex

    org = make_org()
    person = Person.objects.create(organisation=org, prs_FirstName="Ada")
    values = [(org.pk, person.pk, "name", "d1"), (org.pk, person.pk, "phone", "d2")]
    with transaction.atomic():
        bulk.insert([bulk.new(PersonIndex, organisation_id=o, person_id=p, kind=k, digest=d) for o, p, k, d in values])
        bulk.insert_values(PersonIndex, ("organisation_id", "person_id", "kind", "digest"), values)
        with pytest.raises(ValueError, match="a value for each"):
            bulk.insert_values(PersonIndex, ("organisation_id", "person_id", "kind"), [v[:3] for v in values])
        with pytest.raises(ValueError, match="needs preparing"):  # its uid is made per row, its dates prepared
            columns = [f.attname for f in CaseParticipant._meta.concrete_fields if not f.primary_key]
            bulk.insert_values(CaseParticipant, columns, [tuple(range(len(columns)))])
    with connection.cursor() as cur:
        cur.execute("SELECT organisation_id, person_id, kind, digest FROM cases_personindex ORDER BY id")
        written = [tuple(r) for r in cur.fetchall()]
    assert written == values + values


def _sealed_column(model: type, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f'SELECT "{column}" FROM {model._meta.db_table} WHERE id = %s', [pk])  # type: ignore[attr-defined]
        return str(cur.fetchone()[0])


def test_it_uses_other_records_values_sealed_in_advance_only_for_their_own_row_subject_and_key() -> None:
    """A reading process also seals a bundle's other records ahead of the writer (prepare_records): a comment or a
    closing reason with the organisation's data key, an event about a new person with that person's key. The
    writer takes such a value only for the row, person and key it was sealed for, and the value must read back."""
    from phare.cases.bundles import PRESEALED, VALUES, BundleWriter, prepare_person, prepare_records
    from phare.cases.models import CaseComment, TraffickingEvent
    from phare.crypto import blind_indexer
    from phare.crypto.fields import PresealedRow

    org = make_org()
    worker = make_user(org)
    names = {m: {f.name for f in m._meta.concrete_fields} for m in (Case, Person, CaseParticipant, CaseComment, TraffickingEvent)}

    def clean(model: type, rec: dict) -> dict:  # type: ignore[type-arg]
        return {k: v for k, v in rec.items() if k in names[model]}

    def bundle(street: str) -> dict:  # type: ignore[type-arg]
        return {"case": {"cas_Status": "Closed", "cas_ReasonForCaseClosure": "Moved away"},
                "persons": [{"id": "p1", "prs_FirstName": "Amina"}, {"id": "p2", "prs_FirstName": "Grace"}],
                "participants": [{"person": "p1", "role": "Victim"}, {"person": "p2", "role": "Victim"}],
                "comments": [{"cco_CaseComment": "Called twice"}],
                "events": [{"person": "p1", "hte_Description": "Recruited online", "hte_Street": street},
                           {"person": "p2", "hte_Description": "Met at a market"},
                           {"hte_Description": "Nobody named"}]}  # fmt: skip

    wrap = keys.active_org_key(org.pk, "data")
    bundles = [bundle("Harbour Road"), bundle("Station Road")]
    for b in bundles:
        for p in b["persons"]:
            prepare_person(p, clean(Person, p), blind_indexer(org.pk), wrap)
        prepare_records(b, clean, wrap)
    first = bundles[0]
    pre_event, pre_other, pre_nobody = (e[PRESEALED] for e in first["events"])
    assert isinstance(pre_event, PresealedRow) and pre_event.subject == first["persons"][0][PRESEALED].uid_text
    assert pre_nobody.subject is None and first["comments"][0][PRESEALED].subject is None
    # Changed since: a value that differs, and an event now about the other person (another key).
    first["events"][0][VALUES]["hte_Street"] = "Harbour Lane"
    first["events"][1]["person"] = "p1"
    import uuid

    def decorate(case: Case, b: dict) -> None:  # type: ignore[type-arg]
        if case.seq == 2:  # a row given another uid after its values were sealed: they are sealed again
            case.uid = uuid.uuid4()

    writer = BundleWriter(org.pk, clean, lambda seq, rec: worker, date(2026, 1, 5), decorate=decorate)
    with transaction.atomic(), keys.bulk_scope():
        cases = writer.write(bundles, 1)
    keys.reset_caches()
    events = list(TraffickingEvent.objects.filter(case=cases[0]).order_by("id"))
    assert [(e.hte_Description, e.hte_Street) for e in events] == [
        ("Recruited online", "Harbour Lane"), ("Met at a market", None), ("Nobody named", None)]
    assert events[0].uid == pre_event.uid  # the row's uid is the one the values were sealed for
    assert _sealed_column(TraffickingEvent, "hte_Description", events[0].pk).endswith(pre_event.sealed["hte_Description"][1])
    assert not _sealed_column(TraffickingEvent, "hte_Street", events[0].pk).endswith(pre_event.sealed["hte_Street"][1])
    moved = _sealed_column(TraffickingEvent, "hte_Description", events[1].pk)
    assert not moved.endswith(pre_other.sealed["hte_Description"][1])  # sealed again, with its new person's key
    assert moved.split(":")[1] == _sealed_column(TraffickingEvent, "hte_Description", events[0].pk).split(":")[1]
    assert _sealed_column(TraffickingEvent, "hte_Description", events[2].pk).split(":")[1].startswith("o")
    comment = CaseComment.objects.get(case=cases[0])
    assert comment.cco_CaseComment == "Called twice"
    assert _sealed_column(CaseComment, "cco_CaseComment", comment.pk).endswith(first["comments"][0][PRESEALED].sealed["cco_CaseComment"][1])
    closed = Case.objects.get(pk=cases[0].pk)
    assert closed.cas_ReasonForCaseClosure == "Moved away" and closed.uid == first["case"][PRESEALED].uid
    renamed = Case.objects.get(pk=cases[1].pk)
    assert renamed.cas_ReasonForCaseClosure == "Moved away" and renamed.uid != bundles[1]["case"][PRESEALED].uid
    second = TraffickingEvent.objects.filter(case=cases[1]).order_by("id").first()
    assert second is not None and (second.hte_Description, second.hte_Street) == ("Recruited online", "Station Road")


def test_it_dumps_a_json_value_shared_by_rows_once_and_each_other_value_on_its_own() -> None:
    from phare.cases.models import CaseEvent

    org = make_org()
    worker = make_user(org)
    case = make_case(worker)
    before = CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    shared, other = {"owner": worker.pk, "demo": True}, {"owner": worker.pk, "demo": False}
    details = [shared, other, shared, {"to": "Closed"}, [1, 2], [1, 2]]
    held = sys.getrefcount(shared)
    events = [bulk.new(CaseEvent, organisation_id=org.pk, case_id=case.pk, kind="opened", at=case.created, actor_id=worker.pk, detail=d)
              for d in details]  # fmt: skip
    with transaction.atomic():
        bulk.insert(events)
    stored = CaseEvent.objects.filter(id__gt=before).order_by("id").values_list("detail", flat=True)
    assert list(stored) == details
    # Nothing keeps a row's values once its insert is done (a bulk load runs with the cycle collector off).
    del events
    assert sys.getrefcount(shared) == held


def _indexes(table: str) -> set[tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        return set(cur.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL keeps its indexes during a bulk load")
def test_it_builds_secondary_indexes_again_after_a_large_load_and_keeps_them_when_it_fails() -> None:
    before = _indexes("cases_case")
    unique = {(n, s) for n, s in before if s is None or "UNIQUE" in s}  # the uid and number constraints
    assert unique and before - unique
    with transaction.atomic():
        with bulk.deferred_indexes([Case], incoming=10, existing=1):
            assert _indexes("cases_case") == unique  # the constraints stay during the load
        assert _indexes("cases_case") == before  # the same definitions, built again
    with pytest.raises(ZeroDivisionError), transaction.atomic(), bulk.deferred_indexes([Case], incoming=10, existing=1):
        assert _indexes("cases_case") == unique
        1 / 0  # noqa: B018  a load that fails half-way
    assert _indexes("cases_case") == before  # rolled back with the load
    with transaction.atomic(), bulk.deferred_indexes([Case], incoming=10, existing=10):
        assert _indexes("cases_case") == before  # a load no larger than what is there keeps them


def _stored(model: type, org: object) -> list[dict[str, object]]:
    """Every row of `model` in `org`, each field as it reads back (the case by its number, a person by name, a
    directory row by name), in case order: what two loads of the same bundles must agree on."""
    skip = {"id", "uid", "organisation", "created", "updated"}
    out = []
    for row in model.objects.filter(organisation=org).order_by("case__seq", "id"):  # type: ignore[attr-defined]
        seen: dict[str, object] = {}
        for f in model._meta.concrete_fields:  # type: ignore[attr-defined]
            if f.name in skip:
                continue
            value = getattr(row, f.name)
            if f.is_relation and value is not None:
                value = (getattr(value, "number", None) or getattr(value, "org_Name", None)
                         or getattr(value, "prs_FirstName", None) or getattr(value, "role", None))  # fmt: skip
            seen[f.name] = value
        out.append(seen)
    return out


def test_it_writes_rows_made_ahead_as_it_would_make_them_itself() -> None:
    """The demo's generating processes make whole rows for a bundle's participants, referrals, comments, events,
    plans, consents and assessments (prepare_records with bulk.Rows); the writer fills in ids and sealed values.
    Every field reads back as when the writer makes the rows itself from the same values."""
    import random

    from htcds.generate import generate_bundles
    from phare.cases import demo
    from phare.cases.bundles import ROW, ROW_RECORDS, prepare_person, prepare_records

    today = date(2026, 3, 2)
    bundles = {}
    orgs = {}
    for slug, rows in (("ahead", bulk.Rows()), ("here", None)):
        org, users = demo.ensure_org(slug)
        owners = [users["case_worker"], users["supervisor"]]
        writer = demo._writer(org, owners, {}, demo._shift(100), random.Random(3), today)
        wrap = keys.active_org_key(org.pk, "data")
        batch = list(generate_bundles(40, seed=9, today=demo.LATEST))
        with transaction.atomic(), keys.bulk_scope():
            for b in batch:
                for p in b["persons"]:
                    prepare_person(p, writer.clean(Person, p), writer.indexes.index, wrap)
                prepare_records(b, writer.clean, wrap, rows)
            writer.write(batch, 1)
        bundles[slug], orgs[slug] = batch, org
    made = sum(1 for b in bundles["ahead"] for k in ROW_RECORDS for r in b.get(k) or () if ROW in r)
    assert made > 200 and not any(ROW in r for b in bundles["here"] for k in ROW_RECORDS for r in b.get(k) or ())
    keys.reset_caches()
    for model in ROW_RECORDS.values():
        ahead, here = _stored(model, orgs["ahead"]), _stored(model, orgs["here"])
        assert ahead == here and ahead, model.__name__


def test_it_makes_a_row_again_when_its_person_is_not_the_one_it_was_sealed_for() -> None:
    """A row made ahead carries values sealed with its person's key. If the writer finds the record about another
    person (or a list under the row's key that no preparing process made), it makes the row itself and seals
    afresh: a value is never stored under one person's row with another person's key."""
    from phare.cases.bundles import PRESEALED, ROW, BundleWriter, PreparedRow, prepare_person, prepare_records
    from phare.cases.models import TraffickingEvent
    from phare.crypto import blind_indexer

    org = make_org()
    worker = make_user(org)
    names = {m: {f.name for f in m._meta.concrete_fields} for m in (Case, Person, CaseParticipant, TraffickingEvent)}

    def clean(model: type, rec: dict) -> dict:  # type: ignore[type-arg]
        return {k: v for k, v in rec.items() if k in names[model]}

    b = {"case": {"cas_Status": "Active"},
         "persons": [{"id": "p1", "prs_FirstName": "Amina"}, {"id": "p2", "prs_FirstName": "Grace"}],
         "participants": [{"person": "p1", "role": "Victim"}, {"person": "p2", "role": "Victim"}],
         "events": [{"person": "p1", "hte_Description": "Recruited online"},
                    {"person": "p2", "hte_Description": "Met at a market"},
                    {"person": "p2", "hte_Description": "Crossed at night", "hte_Type": "Transit"}]}  # fmt: skip
    wrap = keys.active_org_key(org.pk, "data")
    for p in b["persons"]:
        prepare_person(p, clean(Person, p), blind_indexer(org.pk), wrap)
    prepare_records(b, clean, wrap, bulk.Rows())
    assert all(isinstance(e[ROW], PreparedRow) for e in b["events"])
    sealed_for_p2 = b["events"][1][PRESEALED]
    b["events"][1]["person"] = "p1"  # now about the other person
    forged = list(b["events"][2][ROW])  # a plain list: not a row made ahead, whatever it holds
    forged[bulk.layout(TraffickingEvent)["hte_Type"]] = "Exploitation"
    b["events"][2][ROW] = forged
    writer = BundleWriter(org.pk, clean, lambda seq, rec: worker, date(2026, 1, 5))
    with transaction.atomic(), keys.bulk_scope():
        (case,) = writer.write([b], 1)
    keys.reset_caches()
    events = list(TraffickingEvent.objects.filter(case=case).order_by("id"))
    assert [(e.hte_Description, e.person.prs_FirstName, e.hte_Type) for e in events] == [  # type: ignore[union-attr]
        ("Recruited online", "Amina", ""), ("Met at a market", "Amina", ""), ("Crossed at night", "Grace", "Transit")]
    key_of = {e.pk: _sealed_column(TraffickingEvent, "hte_Description", e.pk).split(":")[1] for e in events}
    assert key_of[events[1].pk] == key_of[events[0].pk] != key_of[events[2].pk]  # sealed again with Amina's key
    assert not _sealed_column(TraffickingEvent, "hte_Description", events[1].pk).endswith(sealed_for_p2.sealed["hte_Description"][1])
