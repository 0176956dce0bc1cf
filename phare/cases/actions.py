"""The verbs of case management. One function per verb; each runs in one transaction and writes its audit
event inside it, so an action whose audit write fails leaves no trace.

Values arrive as Python values (dates, lists of HTCDS value names, model instances for lookups) and are
checked against the HTCDS catalogue with `htcds.validation.validate_record` before anything is written.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from enum import Enum
from types import SimpleNamespace
from typing import Any

from anyascii import anyascii
from django.db import transaction
from django.db.models import Max, Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from htcds import codelists
from htcds.validation import Problem, errors, validate_record
from phare.audit import log as audit
from phare.cases.ages import band_on
from phare.cases.models import (
    CLOSED_STATUSES,
    Assessment,
    Case,
    CaseAssignment,
    CaseComment,
    CaseEvent,
    CaseParticipant,
    CaseStatus,
    Consent,
    Direction,
    ExternalOrganisation,
    Person,
    PersonIndex,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.core.problems import message_of
from phare.crypto import blind_index

Data = Mapping[str, Any]
VICTIM_ROLES = frozenset({"Victim", "PotentialVictim"})
# Fields whose model column is sealed text though HTCDS makes them numbers.
TEXT_STORED_NUMBERS = frozenset({"prs_MailingLatitude", "prs_MailingLongitude", "hte_Latitude", "hte_Longitude"})
STATUS_RANK = {"ActualVictimOfTrafficking": 3, "PossibleVictimOfTrafficking": 2, "NotAVictimOfTrafficking": 1}


class Invalid(Exception):  # noqa: N818 - reads as actions.Invalid
    """The data breaks the standard or a lifecycle rule; `problems` maps field names to messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


# --- helpers ---------------------------------------------------------------------------------------------


def to_record(data: Data) -> dict[str, Any]:
    """HTCDS record (JSON values) of form data: dates as ISO text, lookups as their id, empty values left out."""
    rec: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Model):
            value = str(value.pk)
        elif isinstance(value, str) and key in TEXT_STORED_NUMBERS:
            # Stored as sealed text, checked as the number HTCDS says it is: "6.33" is the number 6.33.
            with contextlib.suppress(ValueError):
                value = float(value.strip().replace(",", "."))
        rec[key] = value
    return rec


def check(entity: str, data: Data) -> None:
    found: list[Problem] = errors(validate_record(entity, to_record(data)))
    if found:
        out: dict[str, list[str]] = {}
        for p in found:
            out.setdefault(p.field or "__all__", []).append(message_of(p))
        raise Invalid(out)


def check_participant(role: str, context: Data) -> None:
    """The standard's rules for a participant: vic_ fields for victims, per_ fields for perpetrators."""
    wrong = [k for k in context if context[k] not in (None, "", [])
             and ((k.startswith("per_") and role != "Perpetrator") or (k.startswith("vic_") and role not in VICTIM_ROLES))]
    if role not in ("Victim", "PotentialVictim", "Perpetrator", "Other"):
        raise Invalid({"role": [_("Unknown role.")]})
    if wrong:
        raise Invalid({k: [_("This field does not apply to the person's role.")] for k in wrong})
    check("participant", {"role": role, **context})


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_tokens(*names: str) -> list[str]:
    """Folded name tokens in Latin letters: accents, case, punctuation and script do not matter ("Ámaka-Obi" ->
    amaka, obi; "Анна" -> anna, so a name typed in Cyrillic once and in Latin letters another time is compared)."""
    out: list[str] = []
    for name in names:
        for tok in re.split(r"[^a-z0-9]+", anyascii(fold(name or "")).lower()):
            if len(tok) >= 2 and tok not in out:
                out.append(tok)
    return out


# Every field person_index_values reads: an import's reading process, which holds a row's values and no Person,
# passes a stand-in with these.
PERSON_INDEX_FIELDS = ("prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate", "prs_MobilePhone",
                       "prs_HomePhone", "prs_Email", "prs_IdentityNumber")  # fmt: skip


def person_index_values(person: Person | SimpleNamespace) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs to blind-index for a person."""
    pairs = [("name", t) for t in name_tokens(person.prs_FirstName, person.prs_MiddleName, person.prs_SecondName)]
    if person.prs_Birthdate:
        pairs.append(("birthdate", person.prs_Birthdate.isoformat()))
    for phone in (person.prs_MobilePhone, person.prs_HomePhone):
        if phone:
            pairs.append(("phone", codelists.normalise_phone(phone) or phone.strip()))
    if person.prs_Email:
        pairs.append(("email", person.prs_Email.strip().lower()))
    if person.prs_IdentityNumber:
        pairs.append(("idnum", re.sub(r"\s+", "", person.prs_IdentityNumber).upper()))
    return pairs


def index_rows(person: Person, memo: Mapping[tuple[str, str], str] | None = None,
               build: Callable[..., PersonIndex] | None = None) -> list[PersonIndex]:  # fmt: skip
    """Blind-index rows for a person; bulk loads pass a mapping that computes (and keeps) each digest, and
    their own row builder (`bulk.new`)."""
    org = person.organisation_id
    rows = []
    for k, v in person_index_values(person):
        digest = memo[(k, v)] if memo is not None else blind_index(org, k, v)
        if build is None:
            rows.append(PersonIndex(organisation_id=org, person=person, kind=k, digest=digest))
        else:
            rows.append(build(PersonIndex, organisation_id=org, person=person, kind=k, digest=digest))
    return rows


def _reindex(person: Person) -> None:
    PersonIndex.objects.filter(person=person).delete()
    PersonIndex.objects.bulk_create(index_rows(person))


def _assign(obj: Model, data: Data) -> list[str]:
    changed = []
    for key, value in data.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


def _case_event(case: Case, actor: Any, kind: str, detail: dict[str, Any] | None = None, note: str = "") -> None:
    CaseEvent.objects.create(organisation_id=case.organisation_id, case=case, kind=kind, at=timezone.now(),
                             actor=actor, detail=detail or {}, note=note)  # fmt: skip


def _audit(
    action: str, actor: Any, target: Model, case: Case | None, request: HttpRequest | None, **detail: Any
) -> None:
    if case is not None:
        detail["case"] = case.number
    # The organisation by id: the chain needs only that, and reading the row cost every write a query.
    audit.record(action, actor=actor, organisation=getattr(target, "organisation_id", None) if case is None else case.organisation_id,
                 target=target, request=request, detail=detail)  # fmt: skip


def _staff(actor: Any) -> Any:
    """The actor as a user row to point at (None for system actors without a database row)."""
    return actor if getattr(actor, "pk", None) else None


def _require_visible(actor: Any, person: Person) -> None:
    """Not found, alike for a person of another organisation and one the actor may not see."""
    from phare.cases.access import visible_persons

    if not visible_persons(actor).filter(pk=person.pk).exists():
        raise Http404("Not found")


def _gate(actor: Any, case: Case, gated: str) -> None:
    """Refuse (`NeedsApproval`) a verb the organisation puts behind a supervisor's approval (phare.work.gates)."""
    from phare.work import gates

    gates.check(actor, case, gated)


def _write_roles() -> frozenset[str]:
    from phare.cases.access import WRITE_ROLES

    return WRITE_ROLES


def _same_org(*objs: Model | None) -> None:
    orgs = {getattr(o, "organisation_id", None) for o in objs if o is not None}
    if len(orgs) > 1:
        raise PermissionError("rows of different organisations")


def require_open(case: Case) -> None:
    """A closed case is read-only until it is reopened."""
    if case.is_closed:
        raise Invalid({"__all__": [_("This case is closed: reopen it before changing it.")]})


def refresh_summary(case: Case) -> None:
    """Recompute the case's denormalised victim summary (exploitation types, trafficking status)."""
    types: list[str] = []
    status = ""
    primary = None
    victims = CaseParticipant.objects.filter(case=case, role__in=VICTIM_ROLES).order_by("id")
    for p in victims.only("person_id", "vic_TypeOfExploitation", "vic_TraffickingStatus"):
        if primary is None:
            primary = p.person_id
        for t in p.vic_TypeOfExploitation or ():
            if t not in types:
                types.append(t)
        if STATUS_RANK.get(p.vic_TraffickingStatus, 0) > STATUS_RANK.get(status, 0):
            status = p.vic_TraffickingStatus
    if primary is None:
        primary = CaseParticipant.objects.filter(case=case).order_by("id").values_list("person_id", flat=True).first()
    case.exploitation_summary = ("|" + "|".join(types) + "|") if types else ""
    case.trafficking_status = status
    case.primary_person_id = primary
    case.save(update_fields=["exploitation_summary", "trafficking_status", "primary_person", "updated"])


def next_number(organisation_id: int, opened: date) -> tuple[int, str]:
    seq = (Case.objects.filter(organisation_id=organisation_id).aggregate(m=Max("seq"))["m"] or 0) + 1
    return seq, f"{opened.year}-{seq:06d}"


# --- people ----------------------------------------------------------------------------------------------


def _htcds(data: Data) -> dict[str, Any]:
    """The HTCDS fields of person data (the alias is Phare's own)."""
    return {k: v for k, v in data.items() if k != "alias"}


def create_person(actor: Any, data: Data, request: HttpRequest | None = None) -> Person:
    check("person", _htcds(data))
    with transaction.atomic():
        person = Person(organisation=actor.organisation, created_by=_staff(actor), **data)
        person.save()
        PersonIndex.objects.bulk_create(index_rows(person))
        _audit("person.create", actor, person, None, request)
    return person


def update_person(actor: Any, person: Person, data: Data, request: HttpRequest | None = None) -> list[str]:
    check("person", _htcds(data))
    with transaction.atomic():
        changed = _assign(person, data)
        if changed:
            person.save()
            _reindex(person)
        if "prs_Birthdate" in changed:
            for p in person.participations.select_related("case"):
                _set_registration_band(p, person.prs_Birthdate, p.case.cas_OpenedDate)
        if changed:
            for case in Case.objects.filter(participants__person=person).distinct():
                _case_event(case, actor, "changed", {"record": "person", "uid": str(person.uid), "fields": changed})
        _audit("person.update", actor, person, None, request, fields=changed)
    return changed


def _set_registration_band(participant: CaseParticipant, birthdate: date | None, opened: date | None) -> None:
    band = band_on(birthdate, opened)
    if band != participant.age_band_at_registration:
        participant.age_band_at_registration = band
        participant.save(update_fields=["age_band_at_registration"])


MATCH_WEIGHTS = {"name": 1, "birthdate": 2, "phone": 4, "email": 4, "idnum": 5}
_MATCH_HITS = 5000  # a very common name token stops counting there


_INDEXED = ("prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate", "prs_MobilePhone", "prs_HomePhone",
            "prs_Email", "prs_IdentityNumber")  # fmt: skip


def _match_digests(organisation_id: int, data: Data, digest: Callable[[str, str], str]) -> dict[str, str]:
    # Only the indexed fields matter: a namespace, not a Person, which an import would build 100,000 times.
    probe = SimpleNamespace(**{k: data.get(k) or ("" if k != "prs_Birthdate" else None) for k in _INDEXED})
    return {digest(k, v): k for k, v in person_index_values(probe)}


def _digest_q(digests: Mapping[str, str]) -> Q:
    """digest -> kind, as a filter the (organisation, kind, digest, person) index answers: by kind, then digest."""
    by_kind: dict[str, list[str]] = {}
    for digest, kind in digests.items():
        by_kind.setdefault(kind, []).append(digest)
    q = Q(pk__in=[])
    for kind, values in sorted(by_kind.items()):
        q |= Q(kind=kind, digest__in=values)
    return q


def _rank(digests: dict[str, str], hits: Iterable[tuple[int, str]], limit: int) -> list[tuple[int, int]]:
    """(person id, score), best first: a score sums the weights of the index kinds that matched."""
    scores: dict[int, int] = {}
    for pid, kind in hits:
        scores[pid] = scores.get(pid, 0) + MATCH_WEIGHTS.get(kind, 1)
    names = sum(1 for k in digests.values() if k == "name")
    threshold = 2 if names >= 2 else 1
    return [(pid, s) for s, pid in sorted(((s, pid) for pid, s in scores.items() if s >= threshold), reverse=True)[:limit]]


def match_ids(organisation_id: int, data: Data, limit: int = 10) -> list[tuple[int, int]]:
    """Ids of the organisation's people likely to be the one being entered, by name tokens, birth date, phone,
    e-mail and identity number through the blind index; best first with a score. Ids only: the caller decides
    which of them the user may see before anything of them is read."""
    digests = _match_digests(organisation_id, data, lambda kind, value: blind_index(organisation_id, kind, value))
    if not digests:
        return []
    rows = PersonIndex.objects.filter(_digest_q(digests), organisation_id=organisation_id)
    return _rank(digests, rows.values_list("person_id", "kind")[:_MATCH_HITS], limit)


def find_matches(organisation_id: int, data: Data, limit: int = 10) -> list[tuple[Person, int]]:
    """`match_ids` with the people themselves, for callers that may see the whole organisation."""
    best = match_ids(organisation_id, data, limit)
    people = Person.objects.in_bulk([pid for pid, _ in best])
    return [(people[pid], s) for pid, s in best if pid in people]


def find_match_ids(organisation_id: int, probes: list[Data], index: Callable[[str, str], str],
                   limit: int = 3, upto: int | None = None) -> list[list[tuple[int, int]]]:  # fmt: skip
    """`find_matches` for many probes at once (an import's rows): one index query per 500 digests, ids only.
    `index` is a `phare.crypto.blind_indexer`; with `upto`, only people whose id is at most that are candidates
    (an import leaves out the people it created itself)."""
    per_probe = [_match_digests(organisation_id, data, index) for data in probes]
    kinds: dict[str, str] = {}
    for d in per_probe:
        kinds.update(d)
    wanted = sorted(kinds)
    hits: dict[str, list[tuple[int, str]]] = {}
    for i in range(0, len(wanted), 500):
        rows = PersonIndex.objects.filter(_digest_q({k: kinds[k] for k in wanted[i : i + 500]}),
                                          organisation_id=organisation_id)  # fmt: skip
        if upto is not None:
            rows = rows.filter(person_id__lte=upto)
        for pid, kind, digest in rows.values_list("person_id", "kind", "digest").iterator():
            found = hits.setdefault(digest, [])
            if len(found) < _MATCH_HITS:
                found.append((pid, kind))
    return [_rank(d, (h for dg in d for h in hits.get(dg, ())), limit) for d in per_probe]


# --- cases -----------------------------------------------------------------------------------------------

NAME_FIELDS = ("prs_FirstName", "prs_MiddleName", "prs_SecondName", "alias")


def _has(data: Data, key: str) -> bool:
    value = data.get(key)
    return value not in (None, "", []) and not (isinstance(value, str) and not value.strip())


def intake_problems(person_data: Data, context: Data | None = None) -> dict[str, list[str]]:
    """What a new case's person lacks to be told apart from anyone else: a name, alias or pseudonym, and a sex or
    an age (a birth date or the age when trafficked). An empty form would otherwise open a "(no name)" case."""
    context = context or {}
    out: dict[str, list[str]] = {}
    if not any(_has(person_data, k) for k in NAME_FIELDS):
        out["prs_FirstName"] = [_("Give a name, or an alias or pseudonym if the person does not give one.")]
    if not (_has(person_data, "prs_Gender") or _has(person_data, "prs_Birthdate") or _has(context, "vic_AgeWhenTrafficked")):
        out["prs_Gender"] = [_("Give the person's sex, or an age (a birth date or the age when trafficked).")]
    return out


def _require_a_name(person_data: Data) -> None:
    if not any(_has(person_data, k) for k in NAME_FIELDS):
        raise Invalid({"prs_FirstName": intake_problems(person_data)["prs_FirstName"]})


def open_case(
    actor: Any,
    *,
    person: Person | None = None,
    person_data: Data | None = None,
    role: str = "Victim",
    context: Data | None = None,
    owner: Any = None,
    opened: date | None = None,
    restricted: bool = False,
    request: HttpRequest | None = None,
) -> Case:
    """Open a case around a person (existing, or created from `person_data`) in the given role. An existing
    person must be one the actor may see: re-using a person is reading them. A new person needs at least a name,
    alias or pseudonym (the registration form also asks for a sex or an age: `intake_problems`)."""
    if person is None:
        _require_a_name(person_data or {})
        check("person", _htcds(person_data or {}))
    else:
        _require_visible(actor, person)
    check_participant(role, context or {})
    org = actor.organisation
    opened = opened or timezone.localdate()
    with transaction.atomic():
        if person is None:
            person = Person(organisation=org, created_by=_staff(actor), **(person_data or {}))
            person.save()
            PersonIndex.objects.bulk_create(index_rows(person))
        _same_org(actor, person)
        seq, number = next_number(org.id, opened)
        case = Case.objects.create(organisation=org, number=number, seq=seq, cas_Status=CaseStatus.ACTIVE,
                                   cas_CaseOwner=owner or actor, cas_OpenedDate=opened, restricted=restricted)  # fmt: skip
        CaseParticipant.objects.create(organisation=org, case=case, person=person, role=role,
                                       age_band_at_registration=band_on(person.prs_Birthdate, opened), **(context or {}))  # fmt: skip
        refresh_summary(case)
        _case_event(case, actor, "opened", {"owner": case.cas_CaseOwner_id})
        _audit("case.open", actor, case, case, request, role=role)
    return case


def add_participant(
    actor: Any,
    case: Case,
    *,
    role: str,
    person: Person | None = None,
    person_data: Data | None = None,
    context: Data | None = None,
    request: HttpRequest | None = None,
) -> CaseParticipant:
    require_open(case)
    if person is None:
        check("person", _htcds(person_data or {}))
    else:
        _require_visible(actor, person)
    check_participant(role, context or {})
    with transaction.atomic():
        if person is None:
            person = Person(organisation_id=case.organisation_id, created_by=_staff(actor), **(person_data or {}))
            person.save()
            PersonIndex.objects.bulk_create(index_rows(person))
        _same_org(case, person)
        p = CaseParticipant.objects.create(organisation_id=case.organisation_id, case=case, person=person, role=role,
                                           age_band_at_registration=band_on(person.prs_Birthdate, case.cas_OpenedDate),
                                           **(context or {}))  # fmt: skip
        refresh_summary(case)
        _case_event(case, actor, "added", {"record": "participant", "role": role, "uid": str(p.uid)})
        _audit("case.participant.add", actor, p, case, request, role=role)
    return p


def update_participant(
    actor: Any, participant: CaseParticipant, context: Data, request: HttpRequest | None = None
) -> list[str]:
    require_open(participant.case)
    check_participant(participant.role, context)
    with transaction.atomic():
        changed = _assign(participant, context)
        participant.save()
        refresh_summary(participant.case)
        if changed:
            _case_event(participant.case, actor, "changed", {"record": "participant", "uid": str(participant.uid),
                                                             "fields": changed})  # fmt: skip
        _audit("case.participant.update", actor, participant, participant.case, request, fields=changed)
    return changed


def update_case(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> list[str]:
    """Follow-up date and the restricted flag; status and owner change through their own verbs."""
    require_open(case)
    allowed = {"follow_up_date", "restricted"}
    with transaction.atomic():
        changed = _assign(case, {k: v for k, v in data.items() if k in allowed})
        case.save()
        if changed:
            _case_event(case, actor, "changed", {"record": "case", "fields": changed})
        _audit("case.update", actor, case, case, request, fields=changed)
    return changed


# The case's own HTCDS fields a file may state (its owner and organisations are matched, not typed).
CASE_FILE_FIELDS = ("cas_Status", "cas_OpenedDate", "cas_ClosedDate", "cas_ReasonForCaseClosure")


def update_case_fields(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> list[str]:
    """The case's HTCDS fields as an imported file states them (a re-import of a changed row): its status, dates and
    closure reason, checked as the standard says, and recorded as a status change when the status moves."""
    data = {k: v for k, v in data.items() if k in CASE_FILE_FIELDS}
    check("case", {k: v for k, v in data.items() if v not in (None, "")})
    with transaction.atomic():
        before = case.cas_Status
        changed = _assign(case, data)
        if not changed:
            return changed
        case.save()
        if "cas_Status" in changed:
            _case_event(case, actor, "status", {"from": before, "to": case.cas_Status})
        _audit("case.update", actor, case, case, request, fields=changed)
    return changed


def set_programme(actor: Any, case: Case, programme: str, request: HttpRequest | None = None) -> None:
    """Put the case in one of the organisation's programmes ("" for none)."""
    require_open(case)
    programme = " ".join(programme.split())
    if len(programme) > 100:
        raise Invalid({"programme": [_("A programme name has at most 100 characters.")]})
    with transaction.atomic():
        before = case.programme
        case.programme = programme
        case.save(update_fields=["programme", "updated"])
        if before != programme:
            _case_event(case, actor, "changed", {"record": "case", "fields": ["programme"]})
        _audit("case.programme_set", actor, case, case, request, before=before, after=programme)


def programmes(cases: QuerySet[Case]) -> list[str]:
    """The programme names in use among `cases` (the access layer's rows for the reader), for pickers and filters.

    Read name by name, each the next after the last in the (organisation, programme) index: one short query per
    name in use. DISTINCT reads every case of the organisation (0.4 s at 200,000 cases on PostgreSQL)."""
    names: list[str] = []
    named = cases.exclude(programme="").order_by("programme").values_list("programme", flat=True)
    while (name := (named.filter(programme__gt=names[-1]) if names else named).first()) is not None:
        names.append(name)
    return sorted(names)


def set_follow_up(actor: Any, case: Case, due: date | None, request: HttpRequest | None = None, *,
                  move: bool = True) -> None:  # fmt: skip
    """Active -> FollowUp (with the date the follow-up is due); with `move=False`, the date only: any open case
    can have a follow-up date without changing its status."""
    if case.is_closed:
        raise Invalid({"cas_Status": [_("A closed case must be reopened first.")]})
    with transaction.atomic():
        old = case.cas_Status
        if move:
            case.cas_Status = CaseStatus.FOLLOW_UP
        case.follow_up_date = due
        case.save()
        if case.cas_Status != old:
            _case_event(case, actor, "status", {"from": old, "to": case.cas_Status})
        else:
            _case_event(case, actor, "changed", {"record": "case", "fields": ["follow_up_date"]})
        _audit("case.follow_up", actor, case, case, request, status_from=old, status_to=case.cas_Status)


def close_case(actor: Any, case: Case, *, reason: str, status: str = CaseStatus.CLOSED, closed: date | None = None,
               request: HttpRequest | None = None) -> None:  # fmt: skip
    if status not in CLOSED_STATUSES:
        raise Invalid({"cas_Status": [_("Choose Closed or Closed Referred.")]})
    if not (reason or "").strip():
        raise Invalid({"cas_ReasonForCaseClosure": [_("A closed case needs a reason for closure.")]})
    if case.is_closed:
        raise Invalid({"cas_Status": [_("The case is already closed.")]})
    _gate(actor, case, "close")
    closed = closed or timezone.localdate()
    check("case", {"cas_Status": status, "cas_ReasonForCaseClosure": reason, "cas_OpenedDate": case.cas_OpenedDate,
                   "cas_ClosedDate": closed})  # fmt: skip
    with transaction.atomic():
        old = case.cas_Status
        case.cas_Status = status
        case.cas_ReasonForCaseClosure = reason.strip()
        case.cas_ClosedDate = closed
        case.follow_up_date = None
        case.save()
        _case_event(case, actor, "closed", {"from": old, "to": status}, note=reason.strip())
        _audit("case.close", actor, case, case, request, status=status)
        from phare.referrals.actions import case_closed

        case_closed(actor, case, request)  # a case opened from a referral reports its closure to the sender


def reopen_case(actor: Any, case: Case, *, reason: str = "", request: HttpRequest | None = None) -> None:
    if not case.is_closed:
        raise Invalid({"cas_Status": [_("Only a closed case can be reopened.")]})
    with transaction.atomic():
        old = case.cas_Status
        case.cas_Status = CaseStatus.ACTIVE
        case.cas_ClosedDate = None
        case.cas_ReasonForCaseClosure = ""
        case.save()
        _case_event(case, actor, "reopened", {"from": old, "to": case.cas_Status}, note=reason.strip())
        _audit("case.reopen", actor, case, case, request, status_from=old)


def reassign_case(actor: Any, case: Case, owner: Any, request: HttpRequest | None = None, *, note: str = "") -> None:
    """Give the case a new owner (`note`: the hand-over's reason, shown on the timeline). Pages hand cases over
    through `phare.work.actions.handovers.hand_over`, which asks for the reason and notifies both sides."""
    if owner is None or owner.organisation_id != case.organisation_id:
        raise Invalid({"cas_CaseOwner": [_("Choose a user of your organisation.")]})
    if not owner.is_active or owner.role not in _write_roles():
        raise Invalid({"cas_CaseOwner": [_("Choose a colleague whose role works on cases.")]})
    _gate(actor, case, "reassign")
    with transaction.atomic():
        old = case.cas_CaseOwner_id
        case.cas_CaseOwner = owner
        case.save()
        _case_event(case, actor, "reassigned", {"from": old, "to": owner.id}, note=note.strip())
        _audit("case.reassign", actor, case, case, request, owner_from=old, owner_to=owner.id)


def assign_worker(actor: Any, case: Case, user: Any, request: HttpRequest | None = None) -> None:
    if user.organisation_id != case.organisation_id:
        raise Invalid({"user": [_("Choose a user of your organisation.")]})
    with transaction.atomic():
        CaseAssignment.objects.get_or_create(organisation_id=case.organisation_id, case=case, user=user)
        _case_event(case, actor, "assigned", {"user": user.id})
        _audit("case.assign", actor, case, case, request, user=user.id)


# --- records on a case -----------------------------------------------------------------------------------


def add_comment(
    actor: Any, case: Case, text: str, *, on: date | None = None, request: HttpRequest | None = None
) -> CaseComment:
    require_open(case)
    if not (text or "").strip():
        raise Invalid({"cco_CaseComment": [_("Write a comment.")]})
    on = on or timezone.localdate()
    check("comment", {"cco_CaseComment": text, "cco_CreatedDate": on})
    with transaction.atomic():
        c = CaseComment.objects.create(organisation_id=case.organisation_id, case=case, author=_staff(actor),
                                       cco_CaseComment=text.strip(), cco_CreatedDate=on)  # fmt: skip
        _audit("case.comment.add", actor, c, case, request)
    return c


def _add(
    model: type[Any], entity: str, action: str, actor: Any, case: Case, data: Data, request: HttpRequest | None
) -> Any:
    require_open(case)
    check(entity, {k: v for k, v in data.items() if k != "person"})
    _same_org(case, data.get("person"))
    with transaction.atomic():
        obj = model.objects.create(organisation_id=case.organisation_id, case=case, **data)
        _case_event(case, actor, "added", {"record": entity, "uid": str(obj.uid)})
        _audit(action, actor, obj, case, request)
    return obj


def _update(entity: str, action: str, actor: Any, obj: Any, data: Data, request: HttpRequest | None) -> list[str]:
    require_open(obj.case)
    check(entity, {k: v for k, v in data.items() if k != "person"})
    _same_org(obj, data.get("person"))
    with transaction.atomic():
        changed = _assign(obj, data)
        obj.save()
        if changed:
            _case_event(obj.case, actor, "changed", {"record": entity, "uid": str(obj.uid), "fields": changed})
        _audit(action, actor, obj, obj.case, request, fields=changed)
    return changed


def add_event(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> TraffickingEvent:
    ev: TraffickingEvent = _add(TraffickingEvent, "event", "case.event.add", actor, case, data, request)
    return ev


def update_event(actor: Any, event: TraffickingEvent, data: Data, request: HttpRequest | None = None) -> list[str]:
    return _update("event", "case.event.update", actor, event, data, request)


def add_support_plan(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> SupportPlan:
    _plan_dates(data)
    _gate(actor, case, "support_plan")
    plan: SupportPlan = _add(SupportPlan, "support_plan", "case.support_plan.add", actor, case, data, request)
    return plan


def update_support_plan(actor: Any, plan: SupportPlan, data: Data, request: HttpRequest | None = None) -> list[str]:
    _plan_dates(data)
    return _update("support_plan", "case.support_plan.update", actor, plan, data, request)


def _plan_dates(data: Data) -> None:
    start = data.get("spl_StartDate")
    for key in ("spl_PlannedEndDate", "spl_ActualEndDate"):
        end = data.get(key)
        if start and end and end < start:
            raise Invalid({key: [_("The end date is before the start date.")]})


def record_consent(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> Consent:
    _consent_dates(data.get("con_Date"), data.get("con_ExpiryDate"))
    consent: Consent = _add(Consent, "consent", "case.consent.record", actor, case, data, request)
    return consent


def update_consent(actor: Any, consent: Consent, data: Data, request: HttpRequest | None = None) -> list[str]:
    _consent_dates(data.get("con_Date", consent.con_Date), data.get("con_ExpiryDate", consent.con_ExpiryDate))
    return _update("consent", "case.consent.update", actor, consent, data, request)


def _consent_dates(given: Any, ends: Any) -> None:
    if isinstance(given, date) and isinstance(ends, date) and ends < given:
        raise Invalid({"con_ExpiryDate": [_("The end date is before the start date.")]})


def withdraw_consent(actor: Any, consent: Consent, *, on: date | None = None, reason: str = "",
                     request: HttpRequest | None = None) -> None:  # fmt: skip
    on = on or timezone.localdate()
    require_open(consent.case)
    if consent.con_WithdrawnDate:
        raise Invalid({"con_WithdrawnDate": [_("This consent is already withdrawn.")]})
    if consent.con_Date and on < consent.con_Date:
        raise Invalid({"con_WithdrawnDate": [_("Consent cannot be withdrawn before it was given.")]})
    with transaction.atomic():
        consent.con_WithdrawnDate = on
        consent.withdrawn_reason = reason.strip()
        consent.save()
        _case_event(consent.case, actor, "withdrawn", {"record": "consent", "uid": str(consent.uid)})
        _audit("case.consent.withdraw", actor, consent, consent.case, request)
        from phare.referrals.actions import consent_withdrawn

        consent_withdrawn(actor, consent, request)  # referrals resting on this consent stop, and the receiver is told


def record_assessment(actor: Any, case: Case, data: Data, answers: Iterable[Mapping[str, str]],
                      request: HttpRequest | None = None) -> Assessment:  # fmt: skip
    """`answers`: [{"question": code, "answer": value, "notes": text}]; notes are stored encrypted."""
    require_open(case)
    import json

    clean = [{"question": a["question"], "answer": a["answer"]} for a in answers if a.get("answer")]
    notes = {a["question"]: a["notes"] for a in answers if a.get("notes")}
    check("assessment", {k: v for k, v in data.items() if k not in ("person", "question_set")})
    with transaction.atomic():
        a = Assessment.objects.create(organisation_id=case.organisation_id, case=case, answers=clean,
                                      answer_notes=json.dumps(notes) if notes else "", **data)  # fmt: skip
        _case_event(case, actor, "added", {"record": "assessment", "uid": str(a.uid)})
        _audit("case.assessment.record", actor, a, case, request, answered=len(clean))
    return a


def send_referral(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> Referral:
    """An outgoing referral; if the referred organisation is a Phare tenant, it is linked for in-system transfer."""
    require_open(case)
    record = {k: v for k, v in data.items() if k != "direction"}
    check("referral", record)
    target = data.get("cas_ReferredOrganisation")
    _same_org(case, target)
    _gate(actor, case, "referral")
    with transaction.atomic():
        r = Referral.objects.create(organisation_id=case.organisation_id, case=case, direction=Direction.OUTGOING,
                                    to_tenant_id=getattr(target, "tenant_id", None), **record)  # fmt: skip
        _case_event(case, actor, "referred", {"direction": "Outgoing", "referral": r.id})
        _audit("case.referral.send", actor, r, case, request, to_tenant=r.to_tenant_id)
    return r


def receive_referral(actor: Any, case: Case, data: Data, request: HttpRequest | None = None) -> Referral:
    require_open(case)
    record = {k: v for k, v in data.items() if k != "direction"}
    check("referral", record)
    _same_org(case, data.get("cas_ReferringOrganisation"))
    with transaction.atomic():
        r = Referral.objects.create(organisation_id=case.organisation_id, case=case, direction=Direction.INCOMING,
                                    **record)  # fmt: skip
        _case_event(case, actor, "referred", {"direction": "Incoming", "referral": r.id})
        _audit("case.referral.receive", actor, r, case, request)
        from phare.work.actions.notifications import referral_received

        referral_received(actor, case, r)
    return r


def update_referral(actor: Any, referral: Referral, data: Data, request: HttpRequest | None = None) -> list[str]:
    return _update("referral", "case.referral.update", actor, referral, data, request)


def add_external_organisation(actor: Any, data: Data, request: HttpRequest | None = None) -> ExternalOrganisation:
    check("organisation", data)
    with transaction.atomic():
        org = ExternalOrganisation.objects.create(organisation=actor.organisation, **data)
        _audit("directory.add", actor, org, None, request)
    return org


# --- access to people and cases the user cannot open ------------------------------------------------------


def request_access(actor: Any, person: Person, note: str = "", request: HttpRequest | None = None) -> Any:
    """Ask a supervisor for access to the cases of a person the duplicate check matched among records the actor
    cannot open. One waiting request per person and requester."""
    from phare.cases.models import AccessRequest

    _same_org(actor, person)
    with transaction.atomic():
        req = AccessRequest.objects.filter(organisation_id=person.organisation_id, requester=actor, person=person,
                                           outcome="").first()  # fmt: skip
        if req is None:
            req = AccessRequest.objects.create(organisation_id=person.organisation_id, requester=actor, person=person,
                                               note=(note or "").strip()[:2000])  # fmt: skip
        audit.record("access.requested", actor=actor, target=req, request=request, detail={"request": str(req.uid)})
    return req


def decide_access_request(actor: Any, req: Any, grant: bool, request: HttpRequest | None = None) -> list[str]:
    """A supervisor grants (the requester is assigned to every case of the person) or declines a request.
    Returns the numbers of the cases the requester was assigned to."""
    from phare.cases.access import can_manage

    if not can_manage(actor) or req.organisation_id != actor.organisation_id:
        raise PermissionError("only a supervisor or an admin of the organisation decides access requests")
    if req.outcome:
        raise Invalid({"__all__": [_("This request was already decided.")]})
    numbers: list[str] = []
    with transaction.atomic():
        if grant:
            cases = Case.objects.filter(organisation_id=req.organisation_id, participants__person=req.person).distinct()
            for case in cases:
                assign_worker(actor, case, req.requester, request=request)
                numbers.append(case.number)
        req.outcome = "granted" if grant else "declined"
        req.decided_by = actor
        req.decided_at = timezone.now()
        req.save(update_fields=["outcome", "decided_by", "decided_at"])
        audit.record("access.granted" if grant else "access.declined", actor=actor, target=req, request=request,
                     detail={"request": str(req.uid), "requester": req.requester_id, "cases": numbers})  # fmt: skip
    return numbers


# --- mistakes: a case opened by error, two records of one person -----------------------------------------


def _require_manager(actor: Any, *rows: Model) -> None:
    from phare.cases.access import can_manage

    if not can_manage(actor) or any(getattr(r, "organisation_id", None) != actor.organisation_id for r in rows):
        raise PermissionError("only a supervisor or an admin of the organisation does this")


def delete_case(actor: Any, case: Case, reason: str, request: HttpRequest | None = None) -> str:
    """Delete a case opened by mistake, with everything recorded on it; the people on no other case go with it
    (their keys destroyed, so nothing of them survives in backups either). Supervisors only, with a reason kept in
    the audit log. Returns the case's number."""
    from phare.crypto.keys import shred_person
    from phare.ops.actions import under_hold

    _require_manager(actor, case)
    if not (reason or "").strip():
        raise Invalid({"reason": [_("Say why the case is deleted.")]})
    if under_hold(case):
        raise Invalid({"__all__": [_("The case is under legal hold and cannot be deleted.")]})
    with transaction.atomic():
        person_ids = list(CaseParticipant.objects.filter(case=case).values_list("person_id", flat=True))
        alone = list(Person.objects.filter(pk__in=person_ids).exclude(participations__case__in=Case.objects.exclude(pk=case.pk))
                     .values_list("pk", "uid"))  # fmt: skip
        _audit("case.deleted", actor, case, case, request, reason=reason.strip(), persons_deleted=[str(u) for _p, u in alone])
        from phare.documents.actions import forget_files_of

        forget_files_of(case)
        number = case.number
        case.delete()
        for _pk, uid in alone:
            shred_person(uid)
        Person.objects.filter(pk__in=[pk for pk, _u in alone]).delete()
    return number


def _person_links() -> list[Any]:
    """Every foreign key to Person, hidden ones (related_name="+") included."""
    rels: Any = Person._meta._get_fields(forward=False, reverse=True, include_hidden=True)
    return [rel.field for rel in rels if getattr(rel, "field", None) is not None and rel.field.many_to_one]


def merge_persons(actor: Any, keep: Person, other: Person, request: HttpRequest | None = None) -> list[str]:
    """Two records of one person become one: every case, record and document of `other` moves to `keep`, and the
    fields `keep` lacks are filled from `other` (lists are joined). `other` is then deleted and its key destroyed.
    Supervisors only; audited with both uids. Returns the fields filled in."""
    from phare.crypto.keys import shred_person

    _require_manager(actor, keep, other)
    if keep.pk == other.pk:
        raise Invalid({"__all__": [_("Choose two different records.")]})
    skip = {"id", "uid", "organisation", "created", "updated", "created_by"}
    filled: list[str] = []
    with transaction.atomic():
        for f in Person._meta.concrete_fields:
            if f.name in skip:
                continue
            mine, theirs = getattr(keep, f.attname), getattr(other, f.attname)
            if isinstance(mine, list) and isinstance(theirs, list) and theirs:
                joined = mine + [v for v in theirs if v not in mine]
                if joined != mine:
                    setattr(keep, f.attname, joined)
                    filled.append(f.name)
            elif mine in (None, "") and theirs not in (None, "", []):
                setattr(keep, f.attname, theirs)
                filled.append(f.name)
        keep.save()
        for field in _person_links():
            if field.model is PersonIndex or field.model._meta.label_lower == "documents.document":
                continue
            # Row by row, saved: their sealed fields are sealed with the key of the person they are about, and
            # must be sealed again with the kept person's key before the other's key is destroyed.
            for row in field.model._default_manager.filter(**{field.name: other}):
                setattr(row, field.name, keep)
                row.save()
        from phare.documents.actions import move_documents

        move_documents(other, keep)
        PersonIndex.objects.filter(person=other).delete()
        _reindex(keep)
        cases = list(Case.objects.filter(participants__person=keep).distinct())
        for p in CaseParticipant.objects.filter(person=keep).select_related("case"):
            _set_registration_band(p, keep.prs_Birthdate, p.case.cas_OpenedDate)
        for case in cases:
            refresh_summary(case)
        _audit("person.merged", actor, keep, None, request, merged=str(other.uid), fields_filled=filled,
               cases=[c.number for c in cases])  # fmt: skip
        other_uid = other.uid
        other.delete()
        shred_person(other_uid)
    return filled
