"""phare.core.prepared: a query built once runs the SQL, and gives the rows, the ORM gives for the same values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from phare.accounts.models import PersonKey, Role
from phare.audit import log
from phare.cases import access as case_access
from phare.cases import filters
from phare.cases.models import CaseParticipant
from phare.core.prepared import Prepared
from phare.crypto import keys
from phare.referrals.templatetags import referrals
from phare.work import access as work_access
from phare.work.models import Notification
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def same(p: Prepared, *args: Any) -> list[tuple[Any, ...]]:
    """The prepared query against the ORM's own, for `args`: the same SQL and parameters, the same rows."""
    reference = p.build(*args)
    assert p.sql(*args) == (lambda s, q: (s, list(q)))(*reference.query.sql_with_params())
    rows = p.rows(*args)
    assert rows == [tuple(r) for r in reference]
    return rows


def test_the_queries_of_every_request_are_the_orms() -> None:
    org, other = make_org("alpha"), make_org("beta")
    worker = make_user(org, Role.CASE_WORKER)
    supervisor = make_user(org, Role.SUPERVISOR, username="Zed")
    stranger = make_user(other, Role.CASE_WORKER)
    make_case(worker)
    make_case(supervisor, first="Efua")
    Notification.objects.create(organisation=org, recipient=worker, kind="task.assigned")
    # Run twice: the first run builds the query, the second reuses it with other values.
    for o, u in ((org, worker), (org, supervisor), (other, stranger), (other, worker)):
        owners = same(filters._OWNERS, o.pk)
        if u.organisation_id == o.pk:
            assert owners == list(filters.org_users(u).values_list("id", "username", "first_name", "last_name"))
        same(work_access._ANY_UNREAD, o.pk, u.pk)
        same(referrals._WAITING, o.pk)
        for purpose in ("data", "index"):
            same(keys._ACTIVE_KEY, o.pk, purpose)
        same(keys._ACTIVE_INSTANCE_KEY, "audit")
        with transaction.atomic():
            same(log._ORG_HEAD, log.chain_of(o.pk), o.pk)
            same(log._INSTANCE_HEAD, log.INSTANCE)
    assert work_access.unread_count(worker) == 1 and work_access.unread_count(supervisor) == 0
    assert {r[1] for r in filters._OWNERS.rows(org.pk)} == {"Zed", "alpha-case_worker"}


def test_the_latest_erasure_is_read_as_the_orm_reads_it() -> None:
    org = make_org("alpha")
    make_case(make_user(org, Role.CASE_WORKER))
    assert same(keys._LATEST_SHRED) == []
    when = timezone.now() - timedelta(minutes=3)
    first = PersonKey.objects.order_by("pk").values_list("pk", flat=True)[0]
    PersonKey.objects.filter(pk=first).update(destroyed_at=when)
    [(latest,)] = same(keys._LATEST_SHRED)
    assert latest == when == PersonKey.objects.aggregate(m=Max("destroyed_at"))["m"] and latest.tzinfo is not None


def test_the_audit_heads_row_makes_the_head_the_orm_reads() -> None:
    org = make_org("alpha")
    make_case(make_user(org, Role.CASE_WORKER))
    with transaction.atomic():
        head = log._locked_head(log.chain_of(org.pk), org.pk, log._key())
        orm = log.AuditHead.objects.get(chain=log.chain_of(org.pk))
    assert [getattr(head, f) for f in log.HEAD_FIELDS] == [getattr(orm, f) for f in log.HEAD_FIELDS]
    assert log.verify().ok


def test_it_refuses_a_value_the_sql_does_not_carry_once() -> None:
    twice = Prepared(lambda n: Notification.objects.filter(recipient_id=n, organisation_id=n).values_list("pk"), int)
    with pytest.raises(ValueError):
        twice.rows(1)
    dropped = Prepared(lambda n: Notification.objects.filter(recipient_id=1).values_list("pk"), int)
    with pytest.raises(ValueError):
        dropped.rows(1)
    with pytest.raises(TypeError):
        Prepared(lambda n: Notification.objects.filter(recipient_id=n).values_list("pk"), int).rows("1")


def test_a_case_pages_people_keys_are_those_the_orm_reads() -> None:
    org = make_org("alpha")
    worker = make_user(org, Role.CASE_WORKER)
    cases = [make_case(worker), make_case(worker, first="Efua")]
    for case in cases:
        rows = same(keys._CASE_PERSON_KEYS, case.pk)
        subjects = CaseParticipant.objects.filter(case=case).values_list("person__uid", flat=True)
        assert rows == list(keys.person_keys_query(subjects)) and len(rows) == len(subjects) >= 1
    keys.reset_caches()
    keys.preload_case_person_keys(cases[1].pk)
    with CaptureQueriesContext(connection) as ctx:
        assert cases[1].primary_person is not None and cases[1].primary_person.prs_FirstName == "Efua"
    assert not [q for q in ctx.captured_queries if "accounts_personkey" in q["sql"]]  # the key was there already


def test_a_list_pages_people_are_those_the_orm_reads() -> None:
    from phare import access
    from phare.cases import views
    from phare.cases.models import Case, Person

    org, other = make_org("alpha"), make_org("beta")
    worker = make_user(org, Role.CASE_WORKER)
    made = [make_case(worker, first=f"Ama{i}") for i in range(3)]
    make_case(make_user(other, Role.CASE_WORKER), first="Stranger")
    ids = [c.primary_person_id for c in made]
    stranger = Person.objects.get(organisation=other).pk
    for wanted in (ids[:1], ids, [*ids, stranger]):
        padded = wanted + wanted[-1:] * (views.PAGE_SIZE - len(wanted))
        # The ORM writes a repeated id once; the prepared query keeps its PAGE_SIZE places: the same rows.
        for p in (views._PAGE_PEOPLE, views._PAGE_PERSON_KEYS):
            assert sorted(p.rows(org.pk, *padded)) == sorted(tuple(r) for r in p.build(org.pk, *wanted))
            assert len(p.rows(org.pk, *padded)) == len(ids if stranger in wanted else wanted)
    for page in (made, made[:1], [*made, made[0]]):
        keys.reset_caches()
        cases = list(Case.objects.filter(pk__in=[c.pk for c in page]).only("primary_person").order_by("pk"))
        views.attach_people(worker, cases)
        reference = access.scoped(worker, Person).filter(id__in=[c.primary_person_id for c in cases]).in_bulk()
        assert [(c.primary_person.pk, c.primary_person.uid, c.primary_person.prs_FirstName, c.primary_person.prs_SecondName)
                for c in cases] == [(reference[c.primary_person_id].pk, reference[c.primary_person_id].uid,
                                     reference[c.primary_person_id].prs_FirstName,
                                     reference[c.primary_person_id].prs_SecondName) for c in cases]  # fmt: skip
    assert {c.primary_person.prs_FirstName for c in cases} == {"Ama0", "Ama1", "Ama2"}


def _fields(obj: Any) -> dict[str, Any]:
    """An instance's loaded values and, under their field names, those of the related objects it carries."""
    out = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    for name, related in obj._state.fields_cache.items():
        out[name] = None if related is None else _fields(related)
    return out


def test_it_reads_a_case_pages_records_as_the_related_managers_do() -> None:
    from phare.cases import actions, views
    from phare.ops.models import LegalHold

    org, other = make_org("alpha"), make_org("beta")
    worker = make_user(org, Role.CASE_WORKER)
    full, bare = make_case(worker), make_case(worker, first="Efua")
    stranger = make_case(make_user(other, Role.CASE_WORKER), first="Stranger")
    actions.add_participant(worker, full, role="Perpetrator", person_data={"prs_FirstName": "Zed"})
    for i in range(2):
        actions.add_comment(worker, full, f"Interview {i} at the shelter.")
        actions.add_event(worker, full, {"hte_Type": "Exploitation", "hte_Country": "NG", "hte_City": "Lagos"})
        actions.add_support_plan(worker, full, {"spl_Type": "Health", "spl_Objectives": f"Medical care {i}"})
        actions.record_consent(worker, full, {"con_Consent": True, "con_Purpose": ["CaseManagement"]})
        actions.record_assessment(worker, full, {"asm_Level": "Individual"}, [{"question": "ind_age", "answer": "No"}])
    directory = actions.add_external_organisation(worker, {"org_Name": "Shelter", "org_ShippingCountry": "NG"})
    actions.send_referral(worker, full, {"cas_ReferredOrganisation": directory})
    actions.receive_referral(worker, full, {"cas_ReferringOrganisation": directory})
    LegalHold.objects.create(organisation=org, case=full, reason="Court order", placed_by=worker)
    references = {
        views._CASE_PARTICIPANTS: lambda c: CaseParticipant.objects.filter(case=c).select_related(
            "person", "vic_LocationOfRecruitment", "vic_LocationOfExploitation", "per_Organisation").order_by("id"),
        views._CASE_REFERRALS: lambda c: c.referrals.select_related(
            "cas_ReferringOrganisation", "cas_ReferredOrganisation").order_by("id"),
        views._CASE_COMMENTS: lambda c: c.comments.select_related("author").order_by("-cco_CreatedDate", "-id"),
        views._CASE_EVENTS: lambda c: c.events.order_by("hte_Date", "id"),
        views._CASE_LIFECYCLE: lambda c: c.lifecycle.select_related("actor").order_by("at", "id"),
        views._CASE_PLANS: lambda c: c.support_plans.order_by("-spl_StartDate", "-id"),
        views._CASE_CONSENTS: lambda c: c.consents.order_by("-id"),
        views._CASE_ASSESSMENTS: lambda c: c.assessments.order_by("-asm_Date", "-id"),
    }  # fmt: skip
    seen = 0
    for case in (full, bare, stranger, full):  # the second run of each reuses the SQL built by the first
        for prepared, reference in references.items():
            orm = reference(case)
            assert prepared.sql(case.pk) == (lambda s, q: (s, list(q)))(*orm.query.sql_with_params())
            found = views._of_case(prepared, case)
            # Each knows its case, as the related managers' objects do (the participants' reference does not).
            assert all(o.case is case for o in found)
            assert [_fields(o) | {"case": None} for o in found] == [_fields(o) | {"case": None} for o in orm]
            seen += len(found)
        assert bool(views._CASE_ON_HOLD.rows(case.pk)) == case.legal_holds.filter(released_at__isnull=True).exists()
    assert seen > 40 and views._CASE_ON_HOLD.rows(full.pk)


def test_it_refuses_a_prepared_queryset_of_objects_that_is_not_plain() -> None:
    from phare.cases.models import Case
    from phare.core.prepared import PreparedObjects

    with pytest.raises(ValueError):
        PreparedObjects(lambda n: Case.objects.filter(pk=n).prefetch_related("comments"), int).objects(1)
    with pytest.raises(TypeError):
        PreparedObjects(lambda n: Case.objects.filter(pk=n), int).objects("1")


def test_it_opens_a_case_for_a_reader_of_every_case_as_the_orm_does() -> None:
    from django.http import Http404

    from phare.cases import access as case_access
    from phare.cases import views
    from phare.documents import access as doc_access
    from phare.documents.access import visible_documents

    org, other = make_org("alpha"), make_org("beta")
    worker = make_user(org, Role.CASE_WORKER)
    readers = [make_user(org, Role.SUPERVISOR, username="sup"), make_user(org, Role.ADMIN, username="adm")]
    mine, theirs = make_case(worker), make_case(make_user(other, Role.SUPERVISOR, username="far"))
    for reader in readers + readers:
        assert case_access.every_case_org(reader) == org.pk
        for number in (mine.number, theirs.number, "2020-999999", "x'; --"):
            orm = case_access._case_of_number(case_access.visible_cases(reader), number)
            assert case_access._EVERY_CASE_BY_NUMBER.sql(org.pk, number) == (
                lambda s, q: (s, list(q)))(*orm.query.sql_with_params())  # fmt: skip
            with CaptureQueriesContext(connection) as got:
                try:
                    found: Any = case_access.get_case(reader, number)
                except Http404:
                    found = None
            with CaptureQueriesContext(connection) as ref:
                try:
                    expected: Any = case_access.visible_cases(reader).select_related(
                        "cas_CaseOwner", "primary_person").get(number=number)  # fmt: skip
                except Exception:
                    expected = None
            assert [q["sql"] for q in got.captured_queries] == [q["sql"] for q in ref.captured_queries]
            assert (found is None) == (expected is None) == (number != mine.number)
            if found is not None:
                assert _fields(found) == _fields(expected) and found.primary_person.prs_FirstName == "Amaka"
        for case in (mine, theirs):
            orm_docs = doc_access._case_documents(visible_documents(reader), case.pk)
            assert doc_access._EVERY_CASE_DOCUMENTS.sql(org.pk, org.pk, case.pk) == (
                lambda s, q: (s, list(q)))(*orm_docs.query.sql_with_params())  # fmt: skip
            assert views._documents(reader, case) == list(orm_docs)
    # Who does not see every case goes the ORM's way, and still gets 404 for a case not theirs.
    assert case_access.every_case_org(make_user(org, Role.CASE_WORKER, username="other")) is None
    with pytest.raises(Http404):
        case_access.get_case(make_user(org, Role.CASE_WORKER, username="other2"), mine.number)
    assert case_access.get_case(worker, mine.number) == mine


def test_a_case_pages_referrals_are_those_the_orm_reads() -> None:
    from phare.referrals import actions as referrals
    from phare.referrals import views as referral_views
    from tests.referral_helpers import org, rich_case, user

    a, b = org("shelter-a", "Shelter A"), org("legal-b", "Legal Aid B")
    ua, ub = user(a), user(b)
    case = rich_case(ua)
    referrals.record_consent(ua, case, b)
    t = referrals.send(ua, case, b, services=["Legal"], chosen=["referral", "contact", "needs", "identity"])
    opened = referrals.accept(ub, t)
    seen = 0
    for reader, c in ((ua, case), (ub, opened), (ua, opened), (ub, case)) * 2:
        orm = referral_views._transfers_of(reader.organisation_id, c, reader.organisation_id, c)
        assert referral_views._CASE_TRANSFERS.sql(reader.organisation_id, c.pk, reader.organisation_id, c.pk) == (
            lambda s, q: (s, list(q)))(*orm.query.sql_with_params())  # fmt: skip
        got = referral_views.case_transfers(reader, c)
        assert [_fields(x) for x in got] == [_fields(x) for x in orm]
        seen += len(got)
    assert seen == 4  # the sender's case and the receiver's, each to its own organisation


def test_it_reads_rows_by_an_id_array_as_the_orm_reads_them_by_a_list() -> None:
    from phare.core.prepared import among_ids, any_of_ids, id_array

    org = make_org("arrays")
    worker = make_user(org, Role.CASE_WORKER)
    cases = [make_case(worker) for _ in range(3)]
    wanted = [cases[2].pk, cases[0].pk, 10**12]  # in any order, one id no row has
    qs = CaseParticipant.objects.filter(case_id__in=range(1)).values_list("case_id", flat=True).order_by("case_id")
    sql, _params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(any_of_ids(sql), [id_array(wanted)])
        else:
            cur.execute(sql.replace(" IN (%s)", " IN (%s, %s, %s)"), wanted)
        got = [r[0] for r in cur.fetchall()]
    orm = list(CaseParticipant.objects.filter(case_id__in=wanted).order_by("case_id").values_list("case_id", flat=True))
    assert got == orm and set(got) == {cases[0].pk, cases[2].pk}
    # The same through the ORM: among_ids is `__in` on SQLite, one array parameter on PostgreSQL.
    among = CaseParticipant.objects.filter(among_ids("case_id", wanted)).order_by("case_id")
    assert list(among.values_list("case_id", flat=True)) == orm
    assert list(CaseParticipant.objects.filter(among_ids("id", [])).values_list("id", flat=True)) == []
    with CaptureQueriesContext(connection) as run:
        list(among)
    assert (" = ANY(" in run[0]["sql"]) == (connection.vendor == "postgresql")
    assert id_array([3, 1]) == "{3,1}"
    with pytest.raises(ValueError):
        id_array(["1}, {2"])  # type: ignore[list-item]  # text never goes into the literal
    with pytest.raises(RuntimeError):
        any_of_ids("SELECT 1 WHERE a IN (%s) AND b IN (%s)")


def _work_fields(objs: list[Any]) -> list[tuple[Any, ...]]:
    """What the case page's work panel shows of each row, and of the users it names."""
    return [(o.pk, type(o).__name__, *(getattr(getattr(o, f, None), "username", None)
                                      for f in ("assignee", "requested_by", "decided_by", "set_by"))) for o in objs]  # fmt: skip


def test_a_pages_work_is_what_the_orm_reads() -> None:
    """The case list's next due dates and open flags, the case page's tasks, approval requests and flags, and the
    saved searches: built once for a reader of every case (or any signed-in user, for the searches), the same SQL
    and the same rows as the ORM's for the same values; others go the ORM's way and see only their cases' work."""
    from phare.work.models import ApprovalRequest, CaseFlag, SavedSearch, Task

    org, other = make_org("alpha"), make_org("beta")
    worker, colleague = make_user(org, Role.CASE_WORKER), make_user(org, Role.CASE_WORKER, username="col")
    readers = [make_user(org, Role.SUPERVISOR, username="sup"), make_user(org, Role.ADMIN, username="adm")]
    far = make_user(other, Role.SUPERVISOR, username="far")
    mine, theirs, foreign = make_case(worker), make_case(colleague, first="Efua"), make_case(far, first="Abena")
    today = timezone.localdate()
    for case, owner in ((mine, worker), (theirs, colleague), (foreign, far)):
        for days in (9, 3):
            Task.objects.create(organisation_id=case.organisation_id, case=case, title="Call", assignee=owner,
                                due=today + timedelta(days=days))  # fmt: skip
        Task.objects.create(organisation_id=case.organisation_id, case=case, title="Done", assignee=owner,
                            due=today, done_at=timezone.now())  # fmt: skip
        CaseFlag.objects.create(organisation_id=case.organisation_id, case=case, kind="medical", set_by=owner)
        CaseFlag.objects.create(organisation_id=case.organisation_id, case=case, kind="safety", set_by=owner,
                                cleared_at=timezone.now())  # fmt: skip
        ApprovalRequest.objects.create(organisation_id=case.organisation_id, case=case, action="close",
                                       payload={}, requested_by=owner)  # fmt: skip
    ApprovalRequest.objects.create(organisation=org, case=mine, action="close", payload={}, requested_by=readers[0])
    SavedSearch.objects.create(organisation=org, user=readers[0], name="Open", query="status=open")
    SavedSearch.objects.create(organisation=org, user=worker, name="Mine", query="owner=me")
    ids = [mine.pk, theirs.pk, foreign.pk]
    distinct = ids + list(range(10**6, 10**6 + work_access.PAGE - len(ids)))  # the SQL the ORM writes: no repeats
    for reader in readers + readers:  # twice: the first builds each query, the second reuses it
        assert case_access.every_case_org(reader) == org.pk
        due_orm = work_access._next_due(work_access.visible_tasks(reader), distinct)
        assert work_access._EVERY_CASE_NEXT_DUE.sql(org.pk, *distinct) == (
            lambda s, q: (s, list(q)))(*due_orm.query.sql_with_params())  # fmt: skip
        flags_orm = work_access._open_flags(work_access.visible_flags(reader), distinct)
        assert work_access._EVERY_CASE_OPEN_FLAGS.sql(org.pk, *distinct) == (
            lambda s, q: (s, list(q)))(*flags_orm.query.sql_with_params())  # fmt: skip
        assert work_access.next_due(reader, ids) == dict(due_orm) == {mine.pk: today + timedelta(days=3),
                                                                     theirs.pk: today + timedelta(days=3)}  # fmt: skip
        assert work_access.open_flags(reader, ids) == {mine.pk: ["Medical urgency"], theirs.pk: ["Medical urgency"]}
        assert work_access.open_flags(reader, ids) == work_access.open_flags(reader, [*ids, 0] * 9)  # (the ORM's way)
        for case in (mine, theirs, foreign):
            orm = (work_access._case_tasks(work_access.visible_tasks(reader), case.pk),
                   work_access._case_approvals(work_access.visible_approvals(reader), case.pk),
                   work_access._case_flags(work_access.visible_flags(reader), case.pk))  # fmt: skip
            for prepared, query in zip((work_access._EVERY_CASE_TASKS, work_access._EVERY_CASE_APPROVALS,
                                        work_access._EVERY_CASE_FLAGS), orm, strict=True):  # fmt: skip
                assert prepared.sql(org.pk, case.pk) == (lambda s, q: (s, list(q)))(*query.query.sql_with_params())
            got = work_access.case_work(reader, case.pk)
            assert [_work_fields(g) for g in got] == [_work_fields(list(q)) for q in orm]
            assert [len(g) for g in got] == ([0, 0, 0] if case is foreign else [3, 2 if case is mine else 1, 1])
        searches = work_access.saved_searches(reader)
        assert [s.pk for s in searches] == [s.pk for s in work_access.my_searches(reader)]
        assert [s.name for s in searches] == (["Open"] if reader is readers[0] else [])
    # A case worker goes the ORM's way: their own cases' work, their own requests, their own searches.
    assert case_access.every_case_org(worker) is None
    assert work_access.next_due(worker, ids) == {mine.pk: today + timedelta(days=3)}
    assert work_access.open_flags(worker, ids) == {mine.pk: ["Medical urgency"]}
    tasks, approvals, flags = work_access.case_work(worker, mine.pk)
    assert (len(tasks), [a.requested_by for a in approvals], len(flags)) == (3, [worker], 1)
    assert work_access.case_work(worker, theirs.pk) == ([], [], [])
    assert [s.name for s in work_access.saved_searches(worker)] == ["Mine"]
