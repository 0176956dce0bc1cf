"""Demo data: an organisation `demo` with one user per role and N synthetic cases.

Cases come from `htcds.generate.generate_bundles`, whose distributions follow CTDC's published frequency counts
(gender x age band x exploitation, citizenship x country of exploitation, year of registration; the counts ship
inside the package in `htcds/data/ctdc_frequencies.json`). Names are invented from syllables. Dates are shifted
so that the most recent registrations fall in the last weeks: home pages then show current work.

Rows are written with `bulk_create` in batches inside one transaction, with one audit event for the whole run.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from htcds.generate import generate_bundles
from phare.accounts.models import Organisation, Role, User
from phare.audit import log as audit
from phare.cases import actions, bulk
from phare.cases.ages import band_on
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseEvent,
    CaseParticipant,
    Consent,
    ExternalOrganisation,
    Person,
    PersonIndex,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import blind_index, keys

DEMO_PASSWORD = "phare-demo-password"
LATEST = date(2018, 12, 31)  # last registration date in the CTDC-based generator
BATCH = 2000
PERSON_FIELDS = {f.name for f in Person._meta.concrete_fields if f.name.startswith("prs_")}
PARTICIPANT_FIELDS = {f.attname for f in CaseParticipant._meta.concrete_fields if f.name[:4] in ("vic_", "per_")}
DATE_FIELDS = {f.name for m in (Person, Case, Referral, CaseComment, TraffickingEvent, SupportPlan, Consent, Assessment)
               for f in m._meta.concrete_fields if f.get_internal_type() == "DateField" or f.name == "prs_Birthdate"}  # fmt: skip
# An organisation's own programmes (not HTCDS): the dashboards filter by them.
PROGRAMMES = ("Shelter", "Helpline", "Community outreach", "Reintegration")
LOOKUP_FIELDS = {"vic_LocationOfRecruitment", "vic_LocationOfExploitation", "per_Organisation"}


_DIGESTS: dict[int, dict[tuple[str, str], str]] = {}


class _Digests(dict[tuple[str, str], str]):
    """Blind indexes for a bulk load: the organisation's index key is fetched once, and every digest is checked
    against `phare.crypto.blind_index` on a probe first (falling back to it should the scheme ever differ)."""

    def __init__(self, org_id: int) -> None:
        super().__init__()
        self.org_id = org_id
        self.key: bytes | None = None
        try:
            from phare.crypto.keys import active_org_key

            _, key = active_org_key(org_id, "index")
            if self._hmac(key, "probe", "phare") == blind_index(org_id, "probe", "phare"):
                self.key = key
        except (ImportError, AttributeError):
            self.key = None

    @staticmethod
    def _hmac(key: bytes, kind: str, value: str) -> str:
        return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def __missing__(self, kv: tuple[str, str]) -> str:
        d = self._hmac(self.key, *kv) if self.key is not None else blind_index(self.org_id, *kv)
        self[kv] = d
        return d


@dataclass
class DemoResult:
    organisation: Organisation
    users: dict[str, User]
    created: int
    total: int


def ensure_org(slug: str = "demo") -> tuple[Organisation, dict[str, User]]:
    org, _ = Organisation.objects.get_or_create(slug=slug, defaults={"org_Name": f"{slug.title()} Anti-Trafficking NGO",
                                                                       "org_Type": "NGO", "org_ShippingCountry": "NG"})  # fmt: skip
    users: dict[str, User] = {}
    for role in Role:
        username = f"{slug}-{role.value.replace('_', '')}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, password=DEMO_PASSWORD, organisation=org, role=role,
                                            first_name=role.label.split(" ")[0], last_name="Demo")  # fmt: skip
        users[role.value] = user
    return org, users


def _shift(days: int) -> Callable[[Any], Any]:
    cache: dict[str, date] = {}

    def to_date(v: Any) -> Any:
        if not isinstance(v, str) or len(v) != 10:
            return v
        d = cache.get(v)
        if d is None:
            d = cache[v] = date.fromisoformat(v) + timedelta(days=days)
        return d

    return to_date


def _clean(rec: dict[str, Any], allowed: set[str], to_date: Callable[[Any], Any]) -> dict[str, Any]:
    return {k: (to_date(v) if k in DATE_FIELDS else v) for k, v in rec.items() if k in allowed}


def create_demo(n: int, slug: str = "demo", seed: int | None = None, progress: Callable[[int], None] | None = None) -> DemoResult:
    """Create (or top up) the demo organisation with `n` more synthetic cases."""
    today = timezone.localdate()
    days = (today - LATEST).days
    to_date = _shift(days)
    with transaction.atomic(), keys.bulk_scope():
        org, users = ensure_org(slug)
        owners = [users[Role.CASE_WORKER], users[Role.SUPERVISOR], users[Role.HELPLINE], users[Role.CASE_WORKER]]
        start = (Case.objects.filter(organisation=org).aggregate(m=Max("seq"))["m"] or 0) + 1
        seed = start if seed is None else seed
        rng = random.Random(seed)
        directory: dict[str, ExternalOrganisation] = {o.org_Name: o for o in ExternalOrganisation.objects.filter(organisation=org)}
        made = 0
        batch: list[dict[str, Any]] = []
        for bundle in generate_bundles(n, seed=seed):
            batch.append(bundle)
            if len(batch) == BATCH:
                _write_batch(org, batch, start + made, owners, directory, to_date, rng, today)
                made += len(batch)
                batch = []
                if progress:
                    progress(made)
        if batch:
            _write_batch(org, batch, start + made, owners, directory, to_date, rng, today)
            made += len(batch)
        total = Case.objects.filter(organisation=org).count()
        audit.record("demo.generate", actor=None, organisation=org, target=org,
                     detail={"cases_created": made, "cases_total": total, "seed": seed})  # fmt: skip
    return DemoResult(org, users, made, total)


def _org_for(name: str | None, org: Organisation, directory: dict[str, ExternalOrganisation]) -> ExternalOrganisation | None:
    if not name:
        return None
    found = directory.get(name)
    if found is None:
        found = directory[name] = ExternalOrganisation.objects.create(organisation=org, org_Name=name[:255], org_Type="NGO")
    return found


def _write_batch(org: Organisation, bundles: list[dict[str, Any]], first_seq: int, owners: list[User],
                 directory: dict[str, ExternalOrganisation], to_date: Callable[[Any], Any], rng: random.Random,
                 today: date) -> None:  # fmt: skip
    oid = org.id
    memo = _DIGESTS.get(oid) or _DIGESTS.setdefault(oid, _Digests(oid))
    persons: list[Person] = []
    person_keys: list[tuple[int, str]] = []
    cases: list[Case] = []
    for i, b in enumerate(bundles):
        c = b["case"]
        opened = to_date(c.get("cas_OpenedDate")) or today
        seq = first_seq + i
        owner_of_case = owners[seq % len(owners)]
        status = c.get("cas_Status", "Active")
        closed = to_date(c.get("cas_ClosedDate")) if status in ("Closed", "ClosedReferred") else None
        follow = today + timedelta(days=rng.randint(-3, 20)) if status == "FollowUp" else None
        cases.append(Case(organisation_id=oid, number=f"{opened.year}-{seq:06d}", seq=seq, cas_Status=status,
                          cas_ReasonForCaseClosure=c.get("cas_ReasonForCaseClosure", "") if closed else "",
                          cas_CaseOwner=owner_of_case, cas_OpenedDate=opened, cas_ClosedDate=closed, follow_up_date=follow,
                          programme=PROGRAMMES[seq % len(PROGRAMMES)]))  # fmt: skip
        for p in b.get("persons", ()):
            persons.append(Person(organisation_id=oid, **_clean(p, PERSON_FIELDS, to_date)))
            person_keys.append((i, p["id"]))
    keys.create_person_keys(oid, [p.uid for p in persons])
    bulk.insert(persons, with_ids=True)
    pmap = {key: person for key, person in zip(person_keys, persons, strict=True)}
    # The case list's summary columns, known before the cases are written (no UPDATE pass afterwards).
    for i, (b, case) in enumerate(zip(bundles, cases, strict=True)):
        types: list[str] = []
        tstatus = ""
        primary = None
        for p in b.get("participants", ()):
            if p["role"] in actions.VICTIM_ROLES:
                primary = primary or pmap[(i, p["person"])]
                types.extend(t for t in p.get("vic_TypeOfExploitation", ()) if t not in types)
                s = p.get("vic_TraffickingStatus", "")
                if actions.STATUS_RANK.get(s, 0) > actions.STATUS_RANK.get(tstatus, 0):
                    tstatus = s
        case.primary_person = primary
        case.exploitation_summary = ("|" + "|".join(types) + "|") if types else ""
        case.trafficking_status = tstatus
    bulk.insert(cases, with_ids=True)
    index: list[PersonIndex] = []
    for person in persons:
        index.extend(actions.index_rows(person, memo))
    bulk.insert(index)

    parts: list[CaseParticipant] = []
    refs: list[Referral] = []
    comments: list[CaseComment] = []
    events: list[TraffickingEvent] = []
    plans: list[SupportPlan] = []
    consents: list[Consent] = []
    assessments: list[Assessment] = []
    lifecycle: list[CaseEvent] = []
    now = timezone.now()
    for i, (b, case) in enumerate(zip(bundles, cases, strict=True)):
        primary = case.primary_person
        for p in b.get("participants", ()):
            person = pmap[(i, p["person"])]
            ctx = _clean(p, PARTICIPANT_FIELDS, to_date)
            for k in LOOKUP_FIELDS:
                if k in p:
                    ctx[k] = _org_for(p[k], org, directory)
            parts.append(CaseParticipant(organisation_id=oid, case=case, person=person, role=p["role"],
                                         age_band_at_registration=band_on(person.prs_Birthdate, case.cas_OpenedDate), **ctx))  # fmt: skip
        owner = case.cas_CaseOwner
        for r in b.get("referrals", ()):
            data = _clean(r, {f.name for f in Referral._meta.concrete_fields}, to_date)
            data.pop("id", None)
            for k in ("cas_ReferringOrganisation", "cas_ReferredOrganisation"):
                if k in r:
                    data[k] = _org_for(r[k], org, directory)
            refs.append(Referral(organisation_id=oid, case=case, **data))
        for m in b.get("comments", ()):
            comments.append(CaseComment(organisation_id=oid, case=case, author=owner, cco_CaseComment=m["cco_CaseComment"],
                                        cco_CreatedDate=to_date(m.get("cco_CreatedDate")) or case.cas_OpenedDate))  # fmt: skip
        for e in b.get("events", ()):
            data = _clean(e, {f.name for f in TraffickingEvent._meta.concrete_fields if f.name.startswith("hte_")}, to_date)
            events.append(TraffickingEvent(organisation_id=oid, case=case, person=pmap.get((i, e.get("person", ""))), **data))
        for s in b.get("support_plans", ()):
            data = _clean(s, {f.name for f in SupportPlan._meta.concrete_fields if f.name.startswith("spl_")}, to_date)
            plans.append(SupportPlan(organisation_id=oid, case=case, person=pmap.get((i, s.get("person", ""))), **data))
        if case.cas_Status == "Active" and rng.random() < 0.08:
            # Some current plans end soon, so the home page's "ending in the next 14 days" has content.
            plans.append(SupportPlan(organisation_id=oid, case=case, person=primary, spl_Type=rng.choice(["Health", "Legal", "SocialCare"]),
                                     spl_StartDate=today - timedelta(days=90), spl_PlannedEndDate=today + timedelta(days=rng.randint(0, 14))))  # fmt: skip
        for k in b.get("consents", ()):
            data = _clean(k, {f.name for f in Consent._meta.concrete_fields if f.name.startswith("con_")}, to_date)
            consents.append(Consent(organisation_id=oid, case=case, person=pmap.get((i, k.get("person", ""))), **data))
        for a in b.get("assessments", ()):
            assessments.append(Assessment(organisation_id=oid, case=case, person=pmap.get((i, a.get("person", ""))),
                                          asm_Level=a.get("asm_Level", "Individual"), asm_Date=to_date(a.get("asm_Date")),
                                          answers=a.get("answers", [])))  # fmt: skip
        lifecycle.append(CaseEvent(organisation_id=oid, case=case, kind="opened", at=now, actor=owner, detail={"owner": case.cas_CaseOwner_id, "demo": True}))
        if case.cas_ClosedDate:
            lifecycle.append(CaseEvent(organisation_id=oid, case=case, kind="closed", at=now, actor=owner,
                                       detail={"to": case.cas_Status, "demo": True}))  # fmt: skip
    bulk.insert(parts)
    for rows in (refs, comments, events, plans, consents, assessments, lifecycle):
        bulk.insert(rows)
