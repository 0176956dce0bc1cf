"""The call screen's form and the public report form. Choices come from the models and the HTCDS catalogue."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from htcds import codelists
from phare.cases.forms import language_choices
from phare.helplines import actions
from phare.helplines.models import CallerType, Channel, ContactDirection, Outcome, Reason, Risk, ServiceKind

# What the call screen's outcome menu offers: the case outcomes come from the buttons that open or link a case.
SCREEN_OUTCOMES = [(v, label) for v, label in Outcome.choices if v not in actions.CASE_OUTCOMES]


def _with_blank(choices: Any) -> list[tuple[str, str]]:
    return [("", "—"), *choices()]


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.CALL)
    direction = forms.ChoiceField(label=_("Direction"), choices=ContactDirection.choices,
                                  initial=ContactDirection.INBOUND)  # fmt: skip
    caller_type = forms.ChoiceField(label=_("Caller"), choices=CallerType.choices, initial=CallerType.ANONYMOUS)
    anonymous = forms.BooleanField(label=_("The caller stays anonymous"), required=False)
    caller_name = forms.CharField(label=_("Caller's name"), required=False, max_length=200)
    caller_phone = forms.CharField(label=_("Caller's phone"), required=False, max_length=40,
                                   widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))  # fmt: skip
    caller_email = forms.EmailField(label=_("Caller's e-mail"), required=False, max_length=254,
                                    widget=forms.EmailInput(attrs={"autocomplete": "off"}))  # fmt: skip
    language = forms.ChoiceField(label=_("Language"), required=False, choices=lambda: _with_blank(language_choices))
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    reason = forms.ChoiceField(label=_("Reason"), choices=Reason.choices, initial=Reason.REPORT)
    summary = forms.CharField(label=_("What was said"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 5}))  # fmt: skip
    indicators = forms.MultipleChoiceField(label=_("Indicators observed"), required=False,
                                           choices=actions.indicator_choices, widget=forms.CheckboxSelectMultiple)  # fmt: skip
    exploitation = forms.MultipleChoiceField(label=_("Type of exploitation"), required=False,
                                             choices=actions.exploitation_choices,
                                             widget=forms.CheckboxSelectMultiple)  # fmt: skip
    risk = forms.ChoiceField(label=_("Risk level"), choices=Risk.choices, initial=Risk.UNKNOWN)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=SCREEN_OUTCOMES, initial=Outcome.TRIAGE)
    follow_up = forms.BooleanField(label=_("Follow-up wanted"), required=False)
    callback_note = forms.CharField(label=_("How to call back safely"), required=False, max_length=1000,
                                    help_text=_("When, on which number, what to say if someone else answers."),
                                    widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    started_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)


class ReportForm(forms.Form):
    """The public form: what happened, where, and (only if the reporter wants) how to reach them. `website` is
    the honeypot: hidden from people, filled by robots."""

    MAX_TEXT = 4000

    what = forms.CharField(label=_("What did you see or experience?"), max_length=MAX_TEXT,
                           widget=forms.Textarea(attrs={"rows": 8}))  # fmt: skip
    region = forms.CharField(label=_("Where (town, region or country)"), required=False, max_length=100)
    language = forms.ChoiceField(label=_("Language you would like us to use"), required=False,
                                 choices=lambda: _with_blank(language_choices))  # fmt: skip
    contact = forms.CharField(label=_("How can we reach you safely? (optional)"), required=False, max_length=300,
                              help_text=_("Leave empty to stay anonymous."))  # fmt: skip
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)

    ANSWER_MAX = 1000

    def __init__(self, *args: Any, setting: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if setting is None:
            return
        if not setting.ask_region:
            del self.fields["region"]
        if not setting.ask_language:
            del self.fields["language"]
        if not setting.ask_contact:
            del self.fields["contact"]
        for i, question in enumerate(setting.questions or []):
            self.fields[f"q{i}"] = forms.CharField(label=question, required=False, max_length=self.ANSWER_MAX,
                                                   widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip

    def question_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith("q") and name[1:].isdigit()]

    def answers(self) -> str:
        """The answered questions, each question on its line and its answer below, for the contact."""
        parts = [f"{self.fields[b.name].label}\n{self.cleaned_data[b.name].strip()}" for b in self.question_fields()
                 if self.cleaned_data.get(b.name, "").strip()]  # fmt: skip
        return "\n\n".join(parts)


class ReportFormSettingsForm(forms.Form):
    """The organisation admin's choices for the public report form."""

    enabled = forms.BooleanField(label=_("Public report form switched on"), required=False)
    intro = forms.CharField(label=_("Text shown above the form"), required=False, max_length=actions.INTRO_LIMIT,
                            widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    ask_region = forms.BooleanField(label=_("Ask where it happened"), required=False)
    ask_language = forms.BooleanField(label=_("Ask which language the reporter prefers"), required=False)
    ask_contact = forms.BooleanField(label=_("Ask how to reach the reporter"), required=False)
    questions = forms.CharField(label=_("Own questions"), required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["questions"].help_text = gettext("One question a line, at most %(n)d. Each is answered in "
                                                     "free text.") % {"n": actions.QUESTIONS_MAX}  # fmt: skip

    def clean_questions(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["questions"].splitlines() if line.strip()]


class FiguresForm(forms.Form):
    """The period of the helpline's figures, and whether they are for sharing outside the organisation."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    external = forms.BooleanField(label=_("For sharing outside the organisation (hide small numbers)"),
                                  required=False)  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The end of the period is before its start."))
        return data


def _languages(text: str) -> list[str]:
    """ISO 639-3 codes from "fra, Swahili; eng": codes or names, separated by commas or semicolons."""
    codes: list[str] = []
    unknown: list[str] = []
    for part in text.replace(";", ",").split(","):
        if part.strip():
            code = codelists.normalise_language(part)
            (codes if code else unknown).append(code or part.strip())
    if unknown:
        raise forms.ValidationError(gettext("Not a language: %(names)s.") % {"names": ", ".join(unknown)})
    return list(dict.fromkeys(codes))


class ServiceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    provider = forms.CharField(label=_("Organisation providing it"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind of service"), choices=ServiceKind.choices)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    languages = forms.CharField(label=_("Languages"), required=False, max_length=300,
                                help_text=_("Names or ISO codes, separated by commas (fra, Swahili)."))  # fmt: skip
    hours = forms.CharField(label=_("Opening hours"), required=False, max_length=200)
    eligibility = forms.CharField(label=_("Who is eligible"), required=False, max_length=1000,
                                  widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    contact = forms.CharField(label=_("How to reach the service"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def clean_languages(self) -> list[str]:
        return _languages(self.cleaned_data["languages"])


class ServiceSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind of service"), required=False, choices=[("", "—"), *ServiceKind.choices])
    language = forms.CharField(label=_("Language"), required=False, max_length=60)

    def clean_language(self) -> str:
        text = self.cleaned_data["language"].strip()
        return (_languages(text) or [""])[0] if text else ""
