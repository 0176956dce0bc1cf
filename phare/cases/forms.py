"""Forms built from the HTCDS catalogue: the standard's labels and help text, picklists of its value names,
multi-selects as checkbox lists, country and language pickers, and the validator's messages on each field."""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any

import pycountry
from django import forms
from django.forms.renderers import get_default_renderer
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from htcds import codelists
from htcds.catalogue import Field, Kind, load
from htcds.sources.values import phone_text
from htcds.validation import errors, validate_record
from phare.cases.actions import TEXT_STORED_NUMBERS, to_record
from phare.cases.models import CaseStatus, ExternalOrganisation, Person
from phare.core.locale import shown_day
from phare.core.problems import message_of


def country_choices() -> list[tuple[str, str]]:
    lang = (get_language() or "en")[:2]
    items = [(c.alpha_2, codelists.country_name(c.alpha_2, lang)) for c in pycountry.countries]
    return sorted(items, key=lambda x: codelists._fold(x[1]))


def language_choices() -> list[tuple[str, str]]:
    """Living languages that have a two-letter code (the ones people pick), stored as ISO 639-2/T codes."""
    lang = (get_language() or "en")[:2]
    items = [(lg.alpha_3, codelists.language_name(lg.alpha_3, lang)) for lg in pycountry.languages if hasattr(lg, "alpha_2")]
    return sorted(items, key=lambda x: codelists._fold(x[1]))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kw: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kw)


class LazyChoices:
    """Choices computed at render time so they follow the active language."""

    def __init__(self, fn: Any, blank: bool = True) -> None:
        self.fn, self.blank = fn, blank

    def __iter__(self) -> Any:
        if self.blank:
            yield ("", "—")
        yield from self.fn()


LONG_TEXT_MAX = 20_000  # characters of a comment, a description or notes: pages, not books


def default_region(organisation_id: int | None) -> str | None:
    """The organisation's country, for reading phone numbers written without their country code."""
    from phare.accounts.models import Organisation

    if not organisation_id:
        return None
    return Organisation.objects.filter(pk=organisation_id).values_list("org_ShippingCountry", flat=True).first() or None


def read_phone(value: str, region: str | None) -> str | None:
    """A phone number as typed (spaces, dots, brackets, a local trunk zero) in E.164, read exactly as imports read
    it (htcds.sources.values.phone_text), or None when it cannot be one."""
    number = phone_text(value.strip(), region)
    return number if _E164.fullmatch(number) else None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


# Labels the catalogue gives as a field name: shown in words.
LABELS = {"per_Organisation": _("Organisation of the perpetrator"), "alias": _("Alias or pseudonym")}


def label_of(name: str) -> str:
    if name in LABELS:
        return str(LABELS[name])
    f = load().by_name.get(name)
    return str(_(f.label)) if f is not None else name


def form_field(f: Field, organisation_id: int | None = None, required: bool = False) -> forms.Field:
    label = LABELS.get(f.name) or _(f.label)
    help_text = _(f.description) if f.description else ""
    kw: dict[str, Any] = {"label": label, "help_text": help_text, "required": required}
    if f.codelist in ("country", "language"):
        source = country_choices if f.codelist == "country" else language_choices
        if f.multiple:
            return forms.MultipleChoiceField(choices=LazyChoices(source, blank=False), widget=SearchableCheckboxes, **kw)
        return forms.ChoiceField(choices=LazyChoices(source), **kw)
    if f.kind is Kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((c.name, _(c.label)) for c in f.choices)], **kw)
    if f.kind is Kind.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(c.name, _(c.label)) for c in f.choices],
                                         widget=forms.CheckboxSelectMultiple, **kw)  # fmt: skip
    if f.kind is Kind.DATE:
        return forms.DateField(widget=DateInput(), **kw)
    if f.kind is Kind.INTEGER:
        lo, hi = (None if f.minimum is None else int(f.minimum)), (None if f.maximum is None else int(f.maximum))
        return forms.IntegerField(min_value=lo, max_value=hi, **kw)
    if f.kind in (Kind.NUMBER, Kind.LATITUDE, Kind.LONGITUDE):
        return forms.FloatField(min_value=f.minimum, max_value=f.maximum, **kw)
    if f.kind is Kind.BOOLEAN:
        return forms.NullBooleanField(
            widget=forms.Select(choices=[("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]), **kw
        )
    if f.kind is Kind.LOOKUP and f.lookup == "organisation":
        qs = (
            ExternalOrganisation.objects.filter(organisation_id=organisation_id)
            if organisation_id
            else ExternalOrganisation.objects.none()
        )
        return forms.ModelChoiceField(queryset=qs, **kw)
    if f.kind is Kind.LONG_TEXT:
        # The limit is in the page (the browser stops at it) and checked here: a refusal keeps the text.
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=LONG_TEXT_MAX, **kw)
    if f.text_format == "email":
        return forms.CharField(widget=forms.EmailInput, max_length=255, **kw)
    if f.text_format == "e164":
        return forms.CharField(widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}), max_length=32, **kw)
    return forms.CharField(max_length=f.max_length or 255, **kw)


class SearchableCheckboxes(forms.CheckboxSelectMultiple):
    """A long list (countries) as checkboxes in a box that scrolls, the chosen ones first: several values
    without Ctrl-click and without JavaScript; phare/forms.js adds a filter box above it."""

    template_name = "cases/widgets/searchable.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        ctx = super().get_context(name, value, attrs)
        chosen = set(ctx["widget"]["value"] or [])
        ctx["widget"]["chosen_first"] = sorted(
            (opt for _g, options, _i in ctx["widget"]["optgroups"] for opt in options),
            key=lambda o: o["value"] not in chosen,
        )
        return ctx


def _filled(bf: Any) -> bool:
    v = bf.value()
    return v not in (None, "", [], "unknown")


class Section:
    """A group of a form's fields shown together; the short intake opens only the first."""

    def __init__(self, title: str, fields: list[Any], open_: bool) -> None:
        self.title, self.fields, self.open = title, fields, open_

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self.fields)


class HTCDSForm(forms.Form):
    """A form over some fields of one HTCDS entity. `clean` runs the standard's validator and puts each of its
    messages next to the field it concerns. `model_data()` gives values ready for the actions."""

    entity = ""
    field_names: tuple[str, ...] = ()
    required_fields: frozenset[str] = frozenset()
    extra_record: dict[str, Any] = {}

    def __init__(self, *args: Any, organisation_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        cat = load()
        for name in self.field_names:
            self.fields[name] = form_field(cat[name], organisation_id, name in self.required_fields)

    def _read_phones(self, data: dict[str, Any]) -> None:
        phones = [n for n in self.field_names if load()[n].text_format == "e164" and data.get(n)]
        region = default_region(self.organisation_id) if phones else None
        for name in phones:
            number = read_phone(data[name], region)
            if number is None:
                self.add_error(name, _("This does not look like a phone number. Write it as you would dial it from "
                                       "abroad, starting with + and the country code."))  # fmt: skip
            else:
                data[name] = number

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self._read_phones(data)
        record = to_record({k: v for k, v in data.items() if k in self.field_names})
        record.update(self.extra_record)
        for p in errors(validate_record(self.entity, record)):
            if p.field in self.fields and p.field not in self.errors:
                hint = f" {_('Did you mean')} {p.suggestion}?" if p.suggestion else ""
                self.add_error(p.field, f"{message_of(p)}{hint}")
            elif p.field not in self.fields:
                self.add_error(None, message_of(p))
        return data

    # The short intake: these fields first, then folded sections of (title, field names); fields named nowhere
    # go to a last "More" section. Empty: every field in one open section.
    intake: tuple[str, ...] = ()
    folded: tuple[tuple[Any, tuple[str, ...]], ...] = ()

    def sections(self) -> list[Section]:
        """The first fields open, the rest in sections revealed on demand (opened when one of theirs is in error
        or filled in): a first contact on a phone is one screen, not a hundred inputs."""
        if not self.intake:
            return [Section("", list(self), True)]
        placed = set(self.intake).union(*(names for _t, names in self.folded))
        groups = [*self.folded, (_("More"), tuple(n for n in self.fields if n not in placed))]
        out = [Section("", [self[n] for n in self.intake if n in self.fields], True)]
        for title, names in groups:
            fields = [self[n] for n in names if n in self.fields]
            if fields:
                opened = any(f.errors for f in fields) or (self.is_bound and any(_filled(f) for f in fields))
                out.append(Section(str(title), fields, opened))
        return out

    def model_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.field_names:
            v = self.cleaned_data.get(name)
            f = load()[name]
            if name in TEXT_STORED_NUMBERS:
                v = "" if v is None else str(v)
            elif f.multiple:
                v = list(v or [])
            elif v is None and f.kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.CHOICE):
                v = ""
            out[name] = v
        return out


def initial_from(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names if hasattr(obj, n)}


def _names(entity: str, skip: set[str] | None = None) -> tuple[str, ...]:
    skip = skip or set()
    return tuple(f.name for f in load().entity(entity) if f.status != "DEPRECATED" and f.name not in skip)


PERSON_FIELDS = _names("person")
# What a case page shows of a person: the standard's fields with Phare's alias after the names.
PERSON_SHOWN = (*PERSON_FIELDS[: PERSON_FIELDS.index("prs_SecondName") + 1], "alias",
                *PERSON_FIELDS[PERSON_FIELDS.index("prs_SecondName") + 1 :])  # fmt: skip
VICTIM_FIELDS = _names("victim")
PERPETRATOR_FIELDS = tuple(n for n in _names("perpetrator"))


class PersonForm(HTCDSForm):
    entity = "person"
    field_names = PERSON_FIELDS
    intake: tuple[str, ...] = ("prs_FirstName", "prs_SecondName", "alias", "prs_Gender", "prs_Birthdate", "prs_Citizenship",
              "prs_MobilePhone", "prs_PrimaryLanguage")  # fmt: skip
    folded: tuple[tuple[Any, tuple[str, ...]], ...] = (
        (_("Contact and address"), ("prs_Salutation", "prs_Title", "prs_Email", "prs_HomePhone", "prs_MailingStreet",
                                    "prs_MailingCity", "prs_MailingState", "prs_MailingPostalCode", "prs_MailingCountry",
                                    "prs_MailingLatitude", "prs_MailingLongitude")),
        (_("Identity, family and status"), ("prs_MiddleName", "prs_IdentityNumber", "prs_MigrationStatus",
                                            "prs_MaritalStatus", "prs_NumberOfChildren", "prs_SecondaryLanguage",
                                            "prs_HighestLevelOfEducation", "prs_Deceased")),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        alias = forms.CharField(label=_("Alias or pseudonym"), required=False, max_length=255,
                                help_text=_("The name to use when the person does not give theirs."))  # fmt: skip
        # After the names, where a worker looks for it.
        order = list(self.fields)
        at = order.index("prs_SecondName") + 1 if "prs_SecondName" in order else len(order)
        self.fields = {**{k: self.fields[k] for k in order[:at]}, "alias": alias,
                       **{k: self.fields[k] for k in order[at:]}}

    def model_data(self) -> dict[str, Any]:
        return {**super().model_data(), "alias": (self.cleaned_data.get("alias") or "").strip()}


class VictimForm(HTCDSForm):
    entity = "participant"
    field_names = VICTIM_FIELDS
    extra_record = {"role": "Victim"}
    intake = ("vic_TraffickingStatus", "vic_TypeOfExploitation", "vic_AgeWhenTrafficked")
    folded = (
        (_("Recruitment"), ("vic_MethodOfRecruitment", "vic_LocationOfRecruitment", "vic_RecruitmentWebsitesAndApps",
                            "vic_RelationshipToTrafficker")),
        (_("Exploitation"), ("vic_MethodsOfControl", "vic_ForcedLabourIndustry", "vic_ForcedLabourIndustryTier2",
                             "vic_ForcedLabourIndustryTier3", "vic_TypeOfSexExploitation", "vic_LocationOfExploitation",
                             "vic_ExploitationWebsitesAndApps")),
    )  # fmt: skip


class PerpetratorForm(HTCDSForm):
    entity = "participant"
    field_names = PERPETRATOR_FIELDS
    extra_record = {"role": "Perpetrator"}


class PerpetratorPersonForm(PersonForm):
    """Only what fits a perpetrator: who they are and how to recognise them, not their schooling or children."""

    field_names = ("prs_FirstName", "prs_SecondName", "prs_Gender", "prs_Birthdate", "prs_Citizenship",
                   "prs_MobilePhone", "prs_IdentityNumber", "prs_PrimaryLanguage")  # fmt: skip
    intake = ()
    folded = ()


class CommentForm(HTCDSForm):
    entity = "comment"
    field_names = ("cco_CaseComment", "cco_CreatedDate")
    required_fields = frozenset({"cco_CaseComment"})


class EventForm(HTCDSForm):
    entity = "event"
    field_names = ("hte_Type", "hte_Date", "hte_Description", "hte_Street", "hte_City", "hte_State", "hte_PostalCode",
                   "hte_Country", "hte_Latitude", "hte_Longitude")  # fmt: skip


class SupportPlanForm(HTCDSForm):
    entity = "support_plan"
    field_names = ("spl_Type", "spl_Objectives", "spl_ActionPlan", "spl_StartDate", "spl_PlannedEndDate",
                   "spl_ActualEndDate")  # fmt: skip


class ConsentForm(HTCDSForm):
    entity = "consent"
    field_names = ("con_Consent", "con_Purpose", "con_Date", "con_HowInformed", "con_ExpiryDate")
    # A consent is for something, given on a day: without them the record proves nothing.
    required_fields = frozenset({"con_Purpose", "con_Date"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Never ticked in advance: the worker ticks it when the person has said yes.
        self.fields["con_Consent"] = forms.BooleanField(
            label=_("The person gives consent"), required=False, initial=False,
            help_text=_("Tick only once the person has said yes, for the purposes below."),
        )  # fmt: skip


class IncomingReferralForm(HTCDSForm):
    entity = "referral"
    field_names = ("cas_ReferringOrganisation", "cas_IncomingReferralDate", "cas_ReferringPrimaryCaseWorker",
                   "cas_ReasonForIncomingReferral", "cas_IncomingReferralDetails")  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cas_ReferringPrimaryCaseWorker"] = forms.CharField(label=_("Referring Primary Case Worker"),
                                                                        required=False, max_length=255)  # fmt: skip


class OutgoingReferralForm(HTCDSForm):
    entity = "referral"
    field_names = ("cas_ReferredOrganisation", "cas_OutgoingReferralDate", "cas_ReferredPrimaryCaseWorker",
                   "cas_ReasonForOutgoingReferral", "cas_OutgoingReferralDetails")  # fmt: skip
    required_fields = frozenset({"cas_ReferredOrganisation"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cas_ReferredPrimaryCaseWorker"] = forms.CharField(label=_("Referred Primary Case Worker"),
                                                                       required=False, max_length=255)  # fmt: skip


class ExternalOrganisationForm(HTCDSForm):
    entity = "organisation"
    field_names = _names("organisation")
    required_fields = frozenset({"org_Name"})


class CloseForm(forms.Form):
    cas_Status = forms.ChoiceField(label=_("Status"), choices=[(CaseStatus.CLOSED, CaseStatus.CLOSED.label),
                                   (CaseStatus.CLOSED_REFERRED, CaseStatus.CLOSED_REFERRED.label)])  # fmt: skip
    cas_ReasonForCaseClosure = forms.CharField(label=_("Reason for Case Closure"), widget=forms.Textarea(attrs={"rows": 3}),
                                               help_text=_("Required to close a case."))  # fmt: skip


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the case reopened?"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class FollowUpForm(forms.Form):
    follow_up_date = forms.DateField(label=_("Follow-up due"), widget=DateInput(), required=False)
    keep_status = forms.BooleanField(label=_("Only set the date: the case keeps its status"), required=False)


class ProgrammeForm(forms.Form):
    programme = forms.CharField(label=_("Programme"), max_length=100, required=False,
                                help_text=_("Your organisation's programme or service for this case (for example: shelter, "
                                            "helpline). Leave empty for none."))  # fmt: skip

    def __init__(self, *args: Any, known: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer the names already in use, so one programme is not spelt three ways; a datalist still allows a new one.
        self.known = known or []
        self.fields["programme"].widget.attrs["list"] = "programmes"


class ReassignForm(forms.Form):
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Case Owner"), queryset=None)

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users  # type: ignore[attr-defined]


class WithdrawConsentForm(forms.Form):
    con_WithdrawnDate = forms.DateField(label=_("Date consent was withdrawn"), widget=DateInput(), required=False)
    reason = forms.CharField(label=_("Reason for withdrawal"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AssessmentForm(HTCDSForm):
    entity = "assessment"
    field_names = ("asm_Level", "asm_Date", "asm_Notes")
    required_fields = frozenset({"asm_Level"})

    def __init__(self, *args: Any, questions: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions or []
        for q in self.questions:
            self.fields[f"q_{q['code']}"] = forms.ChoiceField(
                label=q["text"], required=False,
                choices=[("", "—"), *((a, ANSWER_LABELS.get(a, a)) for a in q["answers"])],
            )  # fmt: skip
            self.fields[f"n_{q['code']}"] = forms.CharField(label=_("Notes"), required=False, max_length=2000)

    def answers(self) -> list[dict[str, str]]:
        return [{"question": q["code"], "answer": self.cleaned_data.get(f"q_{q['code']}") or "",
                 "notes": self.cleaned_data.get(f"n_{q['code']}") or ""} for q in self.questions]  # fmt: skip


ANSWER_LABELS = {"Yes": _("Yes"), "No": _("No"), "Unknown": _("Unknown"), "NotApplicable": _("Not applicable")}


class Normalized(BaseChoiceIterator):
    """Choices already in the form Django normalises them to, (value, label) pairs of text: a field takes them as
    they are, where a list was walked again on each assignment (for the field, then for its widget), on every
    list page for the owner select's every user."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = pairs

    def __iter__(self) -> Any:
        return iter(self.pairs)


@functools.cache
def _catalogue_choices(name: str) -> Normalized:
    """A catalogue field's choices with "Any" first (lazy labels: they follow the active language)."""
    return Normalized([("", _("Any")), *((c.name, _(c.label)) for c in load()[name].choices)])


class RememberedSelect(forms.Select):
    """A select whose markup is kept, per process, for each set of choices (`choices_key`, which names them: set
    by the form), language, name, value and attributes. The case list's filters draw the same few selects on every
    list page, one of them listing every user of the organisation; the selected value is a filter (a status, an
    owner's id, a sort), never what was searched for. tests/test_renderers.py compares with a fresh drawing."""

    memo: dict[Any, Any] = {}
    MEMO_MAX = 512  # distinct (organisation's owners, language, value) drawings kept; all dropped past it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices_key: Any = None

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        key: Any = None
        if self.choices_key is not None and (renderer is None or renderer is get_default_renderer()):
            key = (self.choices_key, get_language(), name, value, tuple((attrs or {}).items()),
                   tuple(self.attrs.items()), self.is_required, self.allow_multiple_selected)  # fmt: skip
            try:
                hash(key)
            except TypeError:
                key = None
        if key is not None and (found := self.memo.get(key)) is not None:
            return found
        html = super().render(name, value, attrs, renderer)
        if key is not None:
            if len(self.memo) >= self.MEMO_MAX:
                self.memo.clear()
            self.memo[key] = html
        return html


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Case number or name"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), ("open", _("Open (Active or Follow Up)")), *CaseStatus.choices],
        widget=RememberedSelect,
    )
    owner = forms.ChoiceField(label=_("Case Owner"), required=False, widget=RememberedSelect)
    exploitation = forms.ChoiceField(label=_("Type of Exploitation"), required=False, widget=RememberedSelect)
    trafficking = forms.ChoiceField(label=_("Trafficking Status"), required=False, widget=RememberedSelect)
    opened_from = forms.DateField(label=_("Opened from"), required=False, widget=DateInput())
    opened_to = forms.DateField(label=_("Opened until"), required=False, widget=DateInput())
    attention = forms.ChoiceField(label=_("Needs attention"), required=False, widget=RememberedSelect,
                                  choices=[("", _("Any")), ("overdue", _("Overdue")),
                                           ("approval", _("Waiting for approval")), ("flagged", _("Flagged"))])  # fmt: skip
    sort = forms.ChoiceField(label=_("Sort by"), required=False, widget=RememberedSelect, choices=[
        ("", _("Newest first")), ("opened", _("Oldest first")), ("number", _("Case number")),
        ("-number", _("Case number, last first")), ("-updated", _("Last activity")), ("status", _("Status"))])

    def __init__(self, *args: Any, owners: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["owner"].choices = Normalized([("", _("Anyone")), ("me", _("Me")), *((v, label) for v, label in owners or ())])
        fields["exploitation"].choices = _catalogue_choices("vic_TypeOfExploitation")
        fields["trafficking"].choices = _catalogue_choices("vic_TraffickingStatus")
        # What names each select's choices: the class's own lists and the catalogue's (the same for the process),
        # and the organisation's users for the owner.
        for name in ("status", "exploitation", "trafficking", "attention", "sort"):
            fields[name].widget.choices_key = (name,)
        fields["owner"].widget.choices_key = ("owner", tuple(map(tuple, owners or ())))


class MatchProbeForm(forms.Form):
    """The few fields asked before creating a person, to look for people already known."""

    prs_FirstName = forms.CharField(label=_("First Name"), required=False, max_length=255)
    prs_SecondName = forms.CharField(label=_("Second Name"), required=False, max_length=255)
    prs_Birthdate = forms.DateField(label=_("Birthdate"), required=False, widget=DateInput())
    prs_MobilePhone = forms.CharField(label=_("Mobile Phone"), required=False, max_length=32,
                                      widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))  # fmt: skip

    def __init__(self, *args: Any, organisation_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id

    def probe(self) -> dict[str, Any]:
        """The values to look for; a phone read as the registration form reads it (a local number with the
        organisation's country), so that "0803 123 4567" finds the person stored as +2348031234567."""
        out = {k: v for k, v in self.cleaned_data.items() if v}
        if out.get("prs_MobilePhone"):
            out["prs_MobilePhone"] = read_phone(out["prs_MobilePhone"], default_region(self.organisation_id)) or out["prs_MobilePhone"]
        return out


def display_value(name: str, value: Any) -> str:
    """Human, translated rendering of a stored HTCDS value."""
    if value is None or value == "" or value == []:
        return ""
    f = load().by_name.get(name)
    if f is None:
        return str(value)
    if f.codelist == "country":
        lang = (get_language() or "en")[:2]
        vals = value if isinstance(value, list) else [value]
        return ", ".join(codelists.country_name(v, lang) for v in vals)
    if f.codelist == "language":
        return codelists.language_name(str(value), (get_language() or "en")[:2])
    if f.choices:
        vals = value if isinstance(value, list) else [value]
        return ", ".join(str(_(f.label_of(v))) for v in vals)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, date):
        return shown_day(value)
    return str(value)


def person_display(person: Person | None, names_visible: bool) -> str:
    if person is None:
        return ""
    if not names_visible:
        return f"#{str(person.uid)[:8]}"
    return str(person)
