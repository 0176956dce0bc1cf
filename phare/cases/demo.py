"""Demo data: an organisation `demo` with one user per role and N synthetic cases.

Cases come from `htcds.generate.generate_bundles`, whose distributions follow CTDC's published frequency counts
(gender x age band x exploitation, citizenship x country of exploitation, year of registration; the counts ship
inside the package in `htcds/data/ctdc_frequencies.json`). Names are invented from syllables. Dates are shifted
so that the most recent registrations fall in the last weeks: home pages then show current work.

Rows are written in batches through `phare.cases.bundles.BundleWriter` inside one transaction, with one audit event
for the whole run.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, F, Max, Model
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from htcds.generate import BLOCK, generate_bundles
from phare.accounts.models import Organisation, Role, User
from phare.audit import log as audit
from phare.cases import bulk, forked
from phare.cases.bundles import BundleWriter, prepare_person, prepare_records, written_models
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    ExternalOrganisation,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import keys

DEMO_PASSWORD = "phare-demo-password"
LATEST = date(2018, 12, 31)  # last registration date in the CTDC-based generator
BATCH = 2000
FORK_MIN = 5000  # cases from which generating in other processes pays for starting them
GENERATORS = 2
SHARE = BLOCK  # bundles each generating process prepares in turn
GENERATOR_NICENESS = 10
DATE_FIELDS = {f.name for m in (Person, Case, Referral, CaseComment, TraffickingEvent, SupportPlan, Consent, Assessment)
               for f in m._meta.concrete_fields if f.get_internal_type() == "DateField" or f.name == "prs_Birthdate"}  # fmt: skip
# An organisation's own programmes (not HTCDS): the dashboards filter by them.
PROGRAMMES = ("Shelter", "Helpline", "Community outreach", "Reintegration")


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
    from phare.helplines.models import ReportForm

    # The demo shows the public report form at /report/demo/ (off by default for every other organisation).
    ReportForm.objects.get_or_create(organisation=org, defaults={"enabled": True})
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


def create_demo(n: int, slug: str = "demo", seed: int | None = None, progress: Callable[[int], None] | None = None,
                fork: bool | None = None) -> DemoResult:  # fmt: skip
    """Create (or top up) the demo organisation with `n` more synthetic cases. The cases are generated, and their
    people's fields sealed, in a second process while this one writes (`fork`; by default from FORK_MIN cases)."""
    today = timezone.localdate()
    days = (today - LATEST).days
    to_date = _shift(days)
    with bulk.relaxed_gc(), transaction.atomic(), keys.bulk_scope():
        org, users = ensure_org(slug)
        owners = [users[Role.CASE_WORKER], users[Role.SUPERVISOR], users[Role.HELPLINE], users[Role.CASE_WORKER]]
        start = (Case.objects.filter(organisation=org).aggregate(m=Max("seq"))["m"] or 0) + 1
        seed = start if seed is None else seed
        rng = random.Random(seed)
        directory: dict[str, ExternalOrganisation] = {o.org_Name: o for o in ExternalOrganisation.objects.filter(organisation=org)}
        writer = _writer(org, owners, directory, to_date, rng, today)
        made = 0
        batch: list[dict[str, Any]] = []
        if fork is None:
            fork = n >= FORK_MIN and forked.available()
        with bulk.deferred_indexes(written_models(), incoming=n, existing=Case.objects.count()):
            for bundle in _generated(n, seed, writer, fork):
                batch.append(bundle)
                if len(batch) == BATCH:
                    _write(writer, batch, start + made)
                    made += len(batch)
                    batch = []
                    if progress:
                        progress(made)
            if batch:
                _write(writer, batch, start + made)
                made += len(batch)
        if made >= 1000:
            bulk.refresh_statistics(written_models())
        total = Case.objects.filter(organisation=org).count()
        audit.record("demo.generate", actor=None, organisation=org, target=org,
                     detail={"cases_created": made, "cases_total": total, "seed": seed})  # fmt: skip
    return DemoResult(org, users, made, total)


def _write(writer: BundleWriter, batch: list[dict[str, Any]], first_seq: int) -> None:
    """`writer.write`, each referral of the batch then dated on its own day (its incoming or outgoing referral date),
    not on the day the demo ran: the home pages' new referrals are the last fortnight's, not every one the demo ever
    generated. Dated batch by batch, each batch's rows found by id: one update at the end of a 200,000-case run
    cost it 20 s more (in two runs beside the code before), batch by batch about 3 s."""
    top = Referral.objects.aggregate(m=Max("id"))["m"] or 0
    writer.write(batch, first_seq)
    dated = Coalesce(Cast("cas_IncomingReferralDate", DateTimeField()), Cast("cas_OutgoingReferralDate", DateTimeField()),
                     F("created"))  # fmt: skip
    Referral.objects.filter(organisation_id=writer.organisation_id, id__gt=top).update(created=dated)


def _generated(n: int, seed: int, writer: BundleWriter, fork: bool) -> Iterator[dict[str, Any]]:
    """The demo's bundles, their people prepared for the writer as an import's reader prepares a file's (index rows
    and sealed fields: phare.cases.bundles.prepare_person), and their other records' rows made, personal values
    sealed (prepare_records). With `fork`, in GENERATORS forked processes (phare.cases.forked), given the
    organisation's keys before they start, each generating and preparing every other block of SHARE bundles at a
    lower priority than this process: the writer is the one step that cannot be shared out, and one preparing
    process could not keep up with it (at 200,000 cases one took 55 s of processor time, the writer 47 s before its
    last indexes and commit), while two only take what the writer leaves of the processors."""
    wrap = keys.active_org_key(writer.organisation_id, "data")
    indexer = writer.indexes.index

    def produce(part: int = 0, parts: int = 1) -> Iterator[dict[str, Any]]:
        if parts > 1:
            os.nice(GENERATOR_NICENESS)  # in the child: when the writer needs a processor, it takes one
        rows = bulk.Rows()
        mine = (lambda block: block % parts == part) if parts > 1 else None
        for bundle in generate_bundles(n, seed=seed, today=LATEST, blocks=mine):  # shifted by `days`
            for person in bundle.get("persons") or ():
                prepare_person(person, writer.clean(Person, person), indexer, wrap)
            prepare_records(bundle, writer.clean, wrap, rows)
            yield bundle

    if not fork:
        return produce()
    parts = [forked.items(functools.partial(produce, k, GENERATORS), name=f"phare-demo-generator-{k}",
                          ahead=6000 // GENERATORS) for k in range(GENERATORS)]  # fmt: skip
    return _interleaved(parts)


def _interleaved(parts: list[Generator[dict[str, Any], None, None]]) -> Iterator[dict[str, Any]]:
    """SHARE items of each part in turn, in the order `produce` numbers them, until a part runs short."""
    try:
        while True:
            for part in parts:
                share = list(itertools.islice(part, SHARE))
                yield from share
                if len(share) < SHARE:
                    for other in parts:  # each has ended too: its process has sent its end
                        for _ in other:
                            raise forked.ForkedError("a demo generator went on after the last case")
                    return
    finally:
        for part in parts:  # stops their processes when the writer stops early (an error)
            part.close()


def _org_for(name: str | None, org: Organisation, directory: dict[str, ExternalOrganisation]) -> ExternalOrganisation | None:
    if not name:
        return None
    found = directory.get(name)
    if found is None:
        found = directory[name] = ExternalOrganisation.objects.create(organisation=org, org_Name=name[:255], org_Type="NGO")
    return found


def _writer(org: Organisation, owners: list[User], directory: dict[str, ExternalOrganisation],
            to_date: Callable[[Any], Any], rng: random.Random, today: date) -> BundleWriter:  # fmt: skip
    fields: dict[type[Model], set[str]] = {model: {f.name for f in model._meta.concrete_fields}
              for model in (Case, Person, CaseParticipant, Referral, CaseComment, TraffickingEvent, SupportPlan, Consent,
                            Assessment)}  # fmt: skip

    def clean(model: type[Model], rec: dict[str, Any]) -> dict[str, Any]:
        return _clean(rec, fields[model], to_date)

    def decorate(case: Case, bundle: dict[str, Any]) -> None:
        if case.cas_Status == "FollowUp":
            case.follow_up_date = today + timedelta(days=rng.randint(-3, 20))
        case.programme = PROGRAMMES[case.seq % len(PROGRAMMES)]

    def extras(case: Case) -> list[SupportPlan]:
        if case.cas_Status == "Active" and rng.random() < 0.08:
            # Some current plans end soon, so the home page's "ending in the next 14 days" has content.
            return [bulk.new(SupportPlan, organisation_id=org.pk, case=case, person=case.primary_person,
                                spl_Type=rng.choice(["Health", "Legal", "SocialCare"]), spl_StartDate=today - timedelta(days=90),
                                spl_PlannedEndDate=today + timedelta(days=rng.randint(0, 14)))]  # fmt: skip
        return []

    return BundleWriter(org.pk, clean, lambda seq, _case: owners[seq % len(owners)], today,
                        lookup=lambda name: _org_for(name, org, directory), decorate=decorate, extras=extras,
                        event_detail={"demo": True})  # fmt: skip
