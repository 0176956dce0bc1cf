from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from phare.cases.forms import DateInput
from phare.cases.models import CaseStatus
from phare.work.actions.tasks import TITLE_MAX
from phare.work.models import Service, WorkSettings


def _user_label(u: Any) -> str:
    return str(u.get_full_name() or u.username)


class UserChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return _user_label(obj)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=TITLE_MAX)
    assignee = UserChoice(label=_("For"), queryset=None)
    due = forms.DateField(label=_("Due date"), widget=DateInput())
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users  # type: ignore[attr-defined]


class HandoverForm(forms.Form):
    to_user = UserChoice(label=_("Hand the case to"), queryset=None)
    reason = forms.CharField(label=_("Reason for the hand-over"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = users  # type: ignore[attr-defined]


class AddWorkerForm(forms.Form):
    user = UserChoice(label=_("Colleague"), queryset=None)

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]


class ServiceForm(forms.Form):
    service = forms.ChoiceField(label=_("Service"), choices=Service.choices)
    to_user = UserChoice(label=_("Colleague"), queryset=None)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, users: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = users  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note to the supervisor"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseRequestForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[(CaseStatus.CLOSED, CaseStatus.CLOSED.label),
                                                           (CaseStatus.CLOSED_REFERRED, CaseStatus.CLOSED_REFERRED.label)])  # fmt: skip
    reason = forms.CharField(label=_("Reason for Case Closure"), widget=forms.Textarea(attrs={"rows": 3}))


class WorkSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = WorkSettings
        fields = ["approve_close", "approve_support_plan", "approve_referral", "approve_reassign",
                  "handover_acceptance", "email_notifications"]  # fmt: skip
