"""When a consent holds: given, not withdrawn, and (for a time-limited one) not past its expiry date. One rule,
used by the case page, referrals (`phare.referrals.actions.live_consent`), research releases
(`phare.sharing.records`) and the work app's due list and reminders."""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from phare.cases.models import Consent


def live(consents: QuerySet[Consent], today: date) -> QuerySet[Consent]:
    """The consents of `consents` that hold on `today`."""
    return consents.filter(Q(con_ExpiryDate__isnull=True) | Q(con_ExpiryDate__gte=today), con_Consent=True,
                           con_WithdrawnDate__isnull=True)  # fmt: skip


def holds(consent: Consent, today: date) -> bool:
    """The same rule as `live`, for a consent already read."""
    expired = consent.con_ExpiryDate is not None and consent.con_ExpiryDate < today
    return bool(consent.con_Consent) and consent.con_WithdrawnDate is None and not expired


def expiring(consents: QuerySet[Consent], until: date) -> QuerySet[Consent]:
    """Given, not withdrawn, time-limited consents that end by `until` (or have ended) and that no later consent
    of the same person on the same case has followed: the ones to renew."""
    after = Consent.objects.filter(case_id=OuterRef("case_id"), pk__gt=OuterRef("pk"))
    # A consent without a person is the case's: any later one follows it; a person's, a later one of theirs or
    # of the case.
    theirs = after.filter(Q(person_id=OuterRef("person_id")) | Q(person_id__isnull=True))
    return (consents.filter(con_Consent=True, con_WithdrawnDate__isnull=True, con_ExpiryDate__isnull=False,
                            con_ExpiryDate__lte=until)
            .exclude(Exists(theirs)).exclude(Q(person_id__isnull=True), Exists(after)))  # fmt: skip
