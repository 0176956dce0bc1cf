"""The rules a database sharded by organisation (Citus, docs/scale.md) needs, enforced on the schema and on data:

1. every tenant table carries `organisation_id`, NOT NULL in the database; a table without it is named below with
   the reason it is not a tenant table, and a table where it may be NULL holds instance-wide rows too (named);
2. every foreign key between tenant tables stays inside one organisation, checked row by row on a generated pair
   of organisations that also referred a case to each other; the two keys that cross by design are named;
3. the audit chain can be kept per organisation: each organisation's events verify on their own
   (`phare.audit.log.verify_organisation`), and a change to one organisation's events shows in its chain only.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models import F

from phare.accounts.models import Organisation, Role
from phare.accounts.testing import build_tenant_rows
from phare.audit import log as audit
from phare.audit.models import AuditEvent
from phare.cases.demo import create_demo, ensure_org
from phare.cases.models import CaseParticipant, Person

pytestmark = pytest.mark.django_db(transaction=False)

# Tables without an organisation: reference data every shard reads, or rows of a user (who belongs to one
# organisation through accounts_user) that never join tenant data in a query. docs/scale.md, "Sharding".
NOT_TENANT = {
    "auth.permission": "Django's own reference table",
    "auth.group": "Django's own reference table (unused)",
    "contenttypes.contenttype": "Django's own reference table",
    "sessions.session": "a signed-in browser; read by key only",
    "accounts.organisation": "the distribution key itself: a reference table",
    "accounts.mfadevice": "a user's second factor, read by user at sign-in",
    "accounts.recoverycode": "a user's recovery codes, read by user at sign-in",
    "accounts.enrolmentcode": "a user's enrolment code, read by user at sign-in",
    "accounts.signinattempt": "throttling before anyone is known",
    "audit.audithead": "the head of the instance-wide chain (one row)",
    "dashboards.servicepartnership": "joins two organisations by design: kept on the coordinator",
    "api.apitoken": "a user's token, read by its digest before the organisation is known",
    "helplines.reportattempt": "throttling of the public report form, before anyone is known",
}
# Tables whose organisation may be NULL: they hold instance-wide rows beside tenant rows (kept on the coordinator).
INSTANCE_ROWS = {
    "accounts.user": "an instance operator belongs to no organisation",
    "accounts.organisationkey": "the instance keys (audit chain, TOTP secrets) belong to no organisation",
    "audit.auditevent": "instance events (sign-in failures, operators' actions) belong to no organisation",
    "jobs.job": "instance jobs (sweeps) belong to no organisation",
}
# Foreign keys that cross organisations by design: a referral joins two tenants.
CROSSING = {
    "referrals.transfer.receiver_case": "the case the receiver opened, in the receiver's organisation",
    "cases.referral.source_referral": "the sender's outgoing referral, in the sender's organisation",
}


def _models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def _tenant(model: type[models.Model]) -> bool:
    return "organisation_id" in {f.attname for f in model._meta.concrete_fields}


def test_it_gives_every_tenant_table_a_not_null_organisation() -> None:
    labels = {m._meta.label_lower for m in _models()}
    named = set(NOT_TENANT) | set(INSTANCE_ROWS) | {k.rsplit(".", 1)[0] for k in CROSSING}
    assert named <= labels, "a name below no longer names a table"
    unnamed = sorted(m._meta.label_lower for m in _models() if not _tenant(m) and m._meta.label_lower not in NOT_TENANT)
    assert unnamed == [], "a table without organisation_id: add the column, or name it in NOT_TENANT with the reason"
    with connection.cursor() as cursor:
        for model in _models():
            if not _tenant(model):
                continue
            columns = {c.name: c for c in connection.introspection.get_table_description(cursor, model._meta.db_table)}
            nullable = bool(columns["organisation_id"].null_ok)
            assert nullable == (model._meta.label_lower in INSTANCE_ROWS), model._meta.label_lower


def _crossing_rows() -> dict[str, int]:
    """For every foreign key from a tenant table to another tenant table: how many rows point to a row of another
    organisation (or to an instance-wide row)."""
    out: dict[str, int] = {}
    for model in _models():
        if not _tenant(model):
            continue
        for field in model._meta.concrete_fields:
            target = field.related_model
            if not field.is_relation or field.name == "organisation" or not _tenant(target):
                continue
            rows = model._default_manager.filter(**{f"{field.name}__isnull": False})
            same = rows.filter(organisation_id=F(f"{field.name}__organisation_id"))
            both_instance = rows.filter(
                organisation_id__isnull=True, **{f"{field.name}__organisation_id__isnull": True}
            )
            out[f"{model._meta.label_lower}.{field.name}"] = rows.count() - same.count() - both_instance.count()
    return out


@pytest.fixture
def two_organisations() -> tuple[Organisation, Organisation]:
    """Two generated organisations (demo cases, one row of every tenant table), one having referred a case to the
    other, which accepted it."""
    from phare.helplines.models import ReportForm
    from phare.referrals import actions as referrals
    from tests import referral_helpers as helpers

    orgs = []
    for n, slug in enumerate(("shard-a", "shard-b")):
        org, users = ensure_org(slug)
        ReportForm.objects.filter(organisation=org).delete()  # one per organisation: build_tenant_rows makes it
        build_tenant_rows(org, users[Role.CASE_WORKER], f"SHARD{n}")  # first: the demo numbers its cases after these
        create_demo(12, slug=slug, seed=5 + n)
        orgs.append(org)
    a, b = orgs
    helpers_b = helpers.user(b, Role.ADMIN, "shard-b-lister")
    referrals.list_organisation(helpers_b, {"services": ["Legal"], "countries": ["ng"], "area": "Lagos"})
    ua, ub = helpers.user(a, Role.CASE_WORKER, "shard-a-worker"), helpers.user(b, Role.CASE_WORKER, "shard-b-worker")
    case = helpers.rich_case(ua)
    referrals.record_consent(ua, case, b)
    referrals.accept(ub, referrals.send(ua, case, b, services=["Legal"]))
    return a, b


def test_it_keeps_every_foreign_key_between_tenant_tables_inside_one_organisation(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    crossing = _crossing_rows()
    assert not set(CROSSING) - set(crossing)
    assert {k: v for k, v in crossing.items() if v and k not in CROSSING} == {}
    # The named exceptions do cross here (the referral was accepted): they are real, not stale.
    assert crossing["referrals.transfer.receiver_case"] == 1 and crossing["cases.referral.source_referral"] == 1
    # Enough rows were looked at to mean something.
    assert CaseParticipant.objects.count() >= 24


def test_it_finds_a_row_pointing_into_another_organisation(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    a, b = two_organisations
    part = CaseParticipant.objects.filter(organisation=a).order_by("id").first()
    stranger = Person.objects.filter(organisation=b).order_by("id").first()
    assert part is not None and stranger is not None
    CaseParticipant.objects.filter(pk=part.pk).update(person=stranger)
    assert _crossing_rows()["cases.caseparticipant.person"] == 1


def test_it_verifies_each_organisations_audit_chain_on_its_own(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    a, b = two_organisations
    assert audit.verify().ok
    for org in (a, b):
        verdict = audit.verify_organisation(org.pk)
        assert verdict.ok and verdict.checked == AuditEvent.objects.filter(organisation=org).count() > 3
    if connection.vendor == "postgresql":
        return  # the log's trigger refuses UPDATE and DELETE: the tampering below is SQLite's to show
    # An edited event of `a` breaks a's chain, and b's still verifies on its own.
    event = AuditEvent.objects.filter(organisation=a).order_by("id")[2]
    AuditEvent.objects.filter(pk=event.pk).update(action="case.viewed.edited")
    edited = audit.verify_organisation(a.pk)
    assert edited.broken_at == event.pk and edited.reason == "content does not match its hash (edited row)"
    assert audit.verify_organisation(b.pk).ok
    AuditEvent.objects.filter(pk=event.pk).update(action=event.action)
    # A deleted event in the middle of a's chain is caught by a's chain alone.
    gone = AuditEvent.objects.filter(organisation=a).order_by("id")[1]
    AuditEvent.objects.filter(pk=gone.pk).delete()
    verdict = audit.verify_organisation(a.pk)
    assert not verdict.ok and "own chain is broken" in verdict.reason and audit.verify_organisation(b.pk).ok
