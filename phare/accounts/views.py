"""Signing in (password, then second factor), user administration, break-glass and the audit search."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from phare.accounts import enrolment, mfa, throttle
from phare.accounts.middleware import SESSION_MFA, SESSION_SEEN, SESSION_STARTED
from phare.accounts.models import BreakGlassGrant, EnrolmentCode, MFADevice, Organisation, Role, User
from phare.accounts.permissions import (
    BREAK_GLASS,
    MANAGE_USERS,
    READ_AUDIT,
    REVIEW_BREAK_GLASS,
    assignable_roles,
    can,
    lowest_role,
    require_perm,
)
from phare.audit.log import client_ip, record
from phare.audit.models import AuditEvent


def _me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _org(request: HttpRequest) -> int:
    org_id = _me(request).organisation_id
    if org_id is None:
        raise PermissionDenied
    return int(org_id)


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


# -- signing in --------------------------------------------------------------------------------------------


class SignInForm(AuthenticationForm):
    """Django's sign-in form, authenticating the account the throttle counted the attempt against
    (`throttle.attempted`): a look-alike or case variant of a name signs in to that account or to none."""

    account: User | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            name = self.account.get_username() if self.account is not None else username
            self.user_cache = authenticate(self.request, username=name, password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


def _signin_organisation(account: User | None) -> Any:
    """The organisation whose audit page shows a sign-in attempt: the account's (none for unknown names)."""
    return account.organisation if account is not None else None


@transaction.atomic
def login_view(request: HttpRequest) -> HttpResponseBase:
    form = SignInForm(request, data=request.POST or None)
    locked = ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        ip = client_ip(request)
        who = throttle.attempted(username)
        form.account = who.account
        audit = {"organisation": _signin_organisation(who.account), "target": who.account, "request": request}
        locked = throttle.lock_reason(who.key, ip) or ""
        if locked:
            record("signin.locked", **audit, detail={"username": username[:150], "reason": locked})
        elif form.is_valid():
            user = form.get_user()
            throttle.note(who.key, True, ip)
            login(request, user)
            request.session[SESSION_STARTED] = request.session[SESSION_SEEN] = time.time()
            request.session[SESSION_MFA] = False
            record("signin", actor=user, request=request)
            if user.needs_mfa:
                return redirect("/accounts/mfa/?" + urlencode({"next": _safe_next(request)}))
            return redirect(_safe_next(request))
        else:
            throttle.note(who.key, False, ip)
            record("signin.failed", **audit, detail={"username": username[:150]})
            now_locked = throttle.lock_reason(who.key, ip)
            if now_locked:
                record("signin.locked", **audit, detail={"username": username[:150], "reason": now_locked})
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked": locked, "next": _safe_next(request, ""), "expired": "expired" in request.GET},
        status=429 if locked else 200,
    )


@require_POST
@transaction.atomic
def logout_view(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        record("signout", actor=request.user, request=request)
    logout(request)
    return redirect(settings.LOGIN_URL)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=16, strip=True, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(
        label=gettext_lazy("Enrolment code"), max_length=40, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )  # fmt: skip


# The enrolment code this session proved (its id): the authenticator step needs it, and uses it up.
SESSION_ENROLMENT = "phare_enrolment_code"


@transaction.atomic
def mfa_view(request: HttpRequest) -> HttpResponseBase:
    """The second step: verify a code; or, with no authenticator yet, take the one-time enrolment code the
    administrator handed over, then enrol an authenticator."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    user = _me(request)
    ip = client_ip(request)
    key = throttle.key_of(user)
    if request.method == "POST" and throttle.is_locked(key, ip):
        record("signin.locked", actor=user, request=request, detail={"step": "mfa"})
        logout(request)
        return redirect(settings.LOGIN_URL)
    device = mfa.confirmed_device(user)
    if device is None:
        return _enrol(request, user, key, ip)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if mfa.verify_totp(device, code):
            _mfa_passed(request, user, "mfa.verified")
            return redirect(_safe_next(request))
        if mfa.use_recovery_code(user, code):
            _mfa_passed(request, user, "mfa.recovery_code_used")
            return redirect(_safe_next(request))
        throttle.note(key, False, ip, kind="mfa")
        record("mfa.failed", actor=user, request=request)
        error = _("That code did not match.")
    return render(request, "accounts/mfa_verify.html", {"form": form, "error": error, "next": _safe_next(request, "")})


def _proved_enrolment_code(request: HttpRequest, user: User) -> EnrolmentCode | None:
    """The code this session proved, while it is still the user's valid one (not used, not expired, not replaced)."""
    pk = request.session.get(SESSION_ENROLMENT)
    found = enrolment.pending(user) if pk else None
    return found if found is not None and found.pk == pk else None


def _enrol(request: HttpRequest, user: User, key: str, ip: str) -> HttpResponseBase:
    nxt = _safe_next(request, "")
    proved = _proved_enrolment_code(request, user)
    if proved is None:
        request.session.pop(SESSION_ENROLMENT, None)
        code_form = EnrolmentCodeForm(request.POST or None)
        error = ""
        if request.method == "POST" and code_form.is_valid():
            found = enrolment.check(user, code_form.cleaned_data["enrolment_code"])
            if found is not None:
                request.session[SESSION_ENROLMENT] = found.pk
                record("mfa.enrolment_code_accepted", actor=user, request=request)
                return redirect("/accounts/mfa/?" + urlencode({"next": nxt}) if nxt else "/accounts/mfa/")
            throttle.note(key, False, ip, kind="enrolment")
            record("mfa.failed", actor=user, request=request, detail={"step": "enrolment_code"})
            error = _("That enrolment code is not valid: it may be mistyped, used already or expired. "
                      "Ask your administrator for a new one.")  # fmt: skip
        return render(request, "accounts/mfa_enrolment_code.html", {"form": code_form, "error": error, "next": nxt})
    form = CodeForm(request.POST or None)
    error = ""
    pending = MFADevice.objects.filter(user=user, confirmed=False).first()
    if pending is None or request.method == "GET":
        pending = mfa.new_device(user)
    if request.method == "POST" and form.is_valid():
        if mfa.verify_totp(pending, form.cleaned_data["code"]):
            if not enrolment.redeem(proved):  # used up or expired meanwhile (another session)
                request.session.pop(SESSION_ENROLMENT, None)
                return redirect("/accounts/mfa/")
            request.session.pop(SESSION_ENROLMENT, None)
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            codes = mfa.new_recovery_codes(user)
            _mfa_passed(request, user, "mfa.enrolled")
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _safe_next(request)})
        throttle.note(key, False, ip, kind="mfa")
        record("mfa.failed", actor=user, request=request, detail={"step": "enrol"})
        error = _("That code did not match. Check the time on your phone and try again.")
    uri = mfa.otpauth_uri(pending)
    secret = uri.split("secret=")[1].split("&")[0]
    return render(
        request,
        "accounts/mfa_enrol.html",
        {"form": form, "qr": mfa.qr_svg(uri), "secret": secret, "error": error, "next": nxt,
         "personal": user.sees_personal_data},
    )  # fmt: skip


def _mfa_passed(request: HttpRequest, user: User, action: str) -> None:
    throttle.note(throttle.key_of(user), True, client_ip(request), kind="mfa")
    request.session.cycle_key()
    request.session[SESSION_MFA] = True
    record(action, actor=user, request=request)


class OwnPasswordForm(PasswordChangeForm):
    def clean_new_password1(self) -> str:
        new = str(self.cleaned_data["new_password1"])
        if self.user.check_password(new):
            raise ValidationError(_("Choose a password different from the current one."))
        return new


@login_required
@transaction.atomic
def password_change(request: HttpRequest) -> HttpResponseBase:
    """Change one's own password: the current one first (counted as a sign-in guess), Django's validators, and
    every other session of the user ends (the session hash covers the password); this one goes on."""
    user = _me(request)
    ip = client_ip(request)
    key = throttle.key_of(user)
    form = OwnPasswordForm(user, request.POST or None)
    if request.method == "POST":
        if throttle.is_locked(key, ip):
            record("signin.locked", actor=user, request=request, detail={"step": "password_change"})
            logout(request)
            return redirect(settings.LOGIN_URL)
        if form.is_valid():
            form.save()
            update_session_auth_hash(request, user)
            record("user.password_changed", actor=user, target=user, request=request)
            messages.success(request, _("Your password was changed. Your other sessions have ended."))
            return redirect("accounts:password")
        if "old_password" in form.errors:
            throttle.note(key, False, ip, kind="password")
            record("user.password_change_failed", actor=user, target=user, request=request)
    return render(request, "accounts/password_change.html", {"form": form})


# -- user administration -----------------------------------------------------------------------------------


def _org_users(request: HttpRequest) -> Any:
    return User.objects.filter(organisation_id=_org(request))


class UserForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150, validators=[User.username_validator],
                               help_text=gettext_lazy("What they type to sign in: letters, digits and @ . + - _"))
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices,
                             help_text=gettext_lazy("New users get the role with the least access; give more only "
                                                    "as their work needs it."))
    is_active = forms.BooleanField(label=gettext_lazy("Active (may sign in)"), required=False, initial=True)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               required=False, strip=False,
                               help_text=gettext_lazy("For a new user, the initial password to hand over; for "
                                                      "someone else, only to set a new one."))

    def __init__(self, *args: Any, actor: User, target: User | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor, self.target = actor, target
        allowed = set(assignable_roles(actor))
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [(v, label) for v, label in Role.choices if v in allowed]
        if target is not None:
            self.fields["username"].disabled = True
        else:
            role_field.initial = lowest_role(actor)

    def clean_role(self) -> str:
        role = str(self.cleaned_data["role"])
        if role not in assignable_roles(self.actor):
            raise ValidationError(_("You cannot give this role."))
        if self.target is not None and self.target.pk == self.actor.pk and role != self.actor.role:
            raise ValidationError(_("You cannot change your own role."))
        return role

    def clean_is_active(self) -> bool:
        active = bool(self.cleaned_data.get("is_active"))
        if self.target is not None and self.target.pk == self.actor.pk and not active:
            raise ValidationError(_("You cannot disable your own account."))
        return active

    def clean_username(self) -> str:
        name = User.normalize_username(str(self.cleaned_data["username"]).strip())
        # One account per name whatever its case or Unicode form (the sign-in and its throttle treat them alike).
        if self.target is None and throttle.accounts_named(name):
            raise ValidationError(_("This username is taken."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pw = data.get("password")
        if self.target is None and not pw:
            self.add_error("password", _("Set an initial password."))
        elif pw:
            try:
                validate_password(pw, self.target)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


@require_perm(MANAGE_USERS)
def users(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = _org_users(request).order_by("username").annotate(
        has_mfa=Exists(MFADevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        code_until=Subquery(
            EnrolmentCode.objects.filter(user=OuterRef("pk"), used_at__isnull=True, expires_at__gt=now)
            .order_by("-expires_at").values("expires_at")[:1]
        ),
    )  # fmt: skip
    return render(request, "accounts/users.html", {"users": rows})


@require_perm(MANAGE_USERS)
@transaction.atomic
def user_active(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Deactivate a user (they can no longer sign in and their sessions end) or reactivate them: asks first."""
    from phare.accounts import actions

    target = _org_users(request).filter(pk=pk).first()
    if target is None:
        raise Http404("Not found")
    if target.role not in assignable_roles(request.user) or target.pk == request.user.pk or target.is_superuser:
        raise PermissionDenied
    if request.method != "POST":
        return render(request, "accounts/user_active_confirm.html", {"target": target})
    if target.is_active:
        actions.deactivate_user(_me(request), target, request=request)
        messages.success(request, _("%(name)s is deactivated: they can no longer sign in and their sessions have "
                                    "ended.") % {"name": target.username})  # fmt: skip
    else:
        actions.reactivate_user(_me(request), target, request=request)
        messages.success(request, _("%(name)s can sign in again.") % {"name": target.username})
    return redirect("accounts:users")


@require_perm(MANAGE_USERS)
@transaction.atomic
def user_edit(request: HttpRequest, pk: int | None = None) -> HttpResponseBase:
    actor = _me(request)
    target = None
    if pk is not None:
        target = _org_users(request).filter(pk=pk).first()
        if target is None:
            raise Http404("Not found")
        # An admin cannot edit someone whose role outranks what they may hand out (e.g. superusers).
        if target.role not in assignable_roles(actor) or target.is_superuser:
            raise PermissionDenied
    initial = {}
    if target is not None:
        initial = {k: getattr(target, k) for k in ("username", "first_name", "last_name", "email", "role", "is_active")}
    form = UserForm(request.POST or None, actor=actor, target=target, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if target is None:
            target = User(username=d["username"], organisation_id=actor.organisation_id)
            before: dict[str, Any] = {}
        else:
            before = {"role": target.role, "is_active": target.is_active}
        target.first_name, target.last_name, target.email = d["first_name"], d["last_name"], d["email"]
        target.role, target.is_active = d["role"], d["is_active"]
        # The organisation is never taken from the form: users stay in the admin's organisation.
        target.organisation_id = actor.organisation_id
        if d.get("password"):
            target.set_password(d["password"])
        target.save()
        after = {"role": target.role, "is_active": target.is_active}
        if not before:
            record("user.created", actor=actor, target=target, request=request, detail=after)
            # The password alone never enrols a second factor: the new user also needs this code, shown once.
            code = enrolment.issue_code(target, issued_by=actor, request=request)
            return _show_enrolment_code(request, target, code, created=True)
        if before != after or d.get("password"):
            record(
                "user.permissions_changed", actor=actor, target=target, request=request,
                detail={"before": before, "after": after, "password_reset": bool(d.get("password"))},
            )  # fmt: skip
        return redirect("accounts:users")
    return render(request, "accounts/user_form.html", {"form": form, "target": target})


def _show_enrolment_code(request: HttpRequest, target: User, code: str, *, created: bool) -> HttpResponse:
    """The code, once: in the answer to the POST that issued it (never at an address that can be fetched again;
    authenticated pages are sent with Cache-Control: no-store)."""
    found = enrolment.pending(target)
    return render(request, "accounts/enrolment_code.html",
                  {"target": target, "code": code, "created": created, "expires_at": found.expires_at if found else None,
                   "hours": int(enrolment.lifetime().total_seconds() // 3600)})  # fmt: skip


@require_perm(MANAGE_USERS)
@transaction.atomic
def user_reset_mfa(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Reset a user's second factor (or give them a new enrolment code): asks first, then ends their sessions,
    removes their authenticator and recovery codes, and shows the one-time code they need to enrol again."""
    target = _org_users(request).filter(pk=pk).first()
    if target is None:
        raise Http404("Not found")
    if target.role not in assignable_roles(request.user) or target.pk == request.user.pk or target.is_superuser:
        raise PermissionDenied
    has_device = MFADevice.objects.filter(user=target, confirmed=True).exists()
    if request.method != "POST":
        return render(request, "accounts/reset_mfa_confirm.html", {"target": target, "has_device": has_device})
    MFADevice.objects.filter(user=target).delete()
    target.recovery_codes.all().delete()
    target.session_epoch += 1
    target.save(update_fields=["session_epoch"])
    record("user.mfa_reset", actor=request.user, target=target, request=request, detail={"had_device": has_device})
    code = enrolment.issue_code(target, issued_by=_me(request), request=request)
    return _show_enrolment_code(request, target, code, created=False)


class SecurityForm(forms.Form):
    require_mfa = forms.BooleanField(
        required=False, label=gettext_lazy("Require a second factor for every role"),
        help_text=gettext_lazy("Admins, supervisors, case workers and helpline operators always need one: they read "
                        "personal data. With this on, analysts and auditors need one too."),
    )  # fmt: skip


@require_perm(MANAGE_USERS)
@transaction.atomic
def security_settings(request: HttpRequest) -> HttpResponseBase:
    """The organisation's sign-in rules, for its admins."""
    org = Organisation.objects.select_for_update().get(pk=_org(request))
    # An unticked box posts nothing: the form is bound on any POST, not only a non-empty one.
    form = SecurityForm(request.POST if request.method == "POST" else None, initial={"require_mfa": org.require_mfa})
    if request.method == "POST" and form.is_valid():
        wanted = bool(form.cleaned_data["require_mfa"])
        if wanted != org.require_mfa:
            before = org.require_mfa
            org.require_mfa = wanted
            org.save(update_fields=["require_mfa"])
            record("organisation.security_changed", actor=request.user, organisation=org, target=org, request=request,
                   detail={"require_mfa": {"before": before, "after": wanted}})  # fmt: skip
        messages.success(request, _("Security settings saved."))
        return redirect("accounts:security")
    people = _org_users(request).filter(is_active=True)
    without = people.exclude(Exists(MFADevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
    return render(request, "accounts/security.html", {"form": form, "org": org, "without": without.count()})


# -- break-glass -------------------------------------------------------------------------------------------


class BreakGlassForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, min_length=15, max_length=2000)
    hours = forms.IntegerField(min_value=1, max_value=BreakGlassGrant.MAX_DURATION_HOURS, initial=1)


def _grant_target(request: HttpRequest, target_type: str, uid: Any) -> Any:
    """A record of the user's organisation that a break-glass grant may open (cases: any the user cannot
    already see; other records: restricted ones). 404 alike for missing and another organisation's."""
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        raise Http404("Not found") from None
    names = {f.name for f in model._meta.concrete_fields}
    if not {"uid", "organisation"} <= names or ("restricted" not in names and model._meta.label_lower != "cases.case"):
        raise Http404("Not found")
    rows = model._default_manager.filter(organisation_id=_org(request), uid=uid)
    if model._meta.label_lower != "cases.case":
        rows = rows.filter(restricted=True)
    row = rows.first()
    if row is None:
        raise Http404("Not found")
    return row


@require_perm(BREAK_GLASS)
@transaction.atomic
def break_glass(request: HttpRequest, target_type: str, uid: Any) -> HttpResponseBase:
    """Open one record of the user's own organisation for at most three hours, with a reason."""
    from phare.accounts import breakglass

    row = _grant_target(request, target_type, uid)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        breakglass.grant(_me(request), row, form.cleaned_data["reason"], form.cleaned_data["hours"], request=request)
        default = f"/cases/{row.number}/" if hasattr(row, "number") else "/"
        return redirect(_safe_next(request, default))
    return render(request, "accounts/break_glass.html", {"form": form, "row": row, "next": _safe_next(request, "")})


@require_perm(REVIEW_BREAK_GLASS)
@transaction.atomic
def break_glass_review(request: HttpRequest) -> HttpResponseBase:
    from phare.accounts import breakglass

    grants = BreakGlassGrant.objects.filter(organisation_id=_org(request))
    if request.method == "POST":
        grant = grants.filter(pk=request.POST.get("grant") or 0, reviewed_at__isnull=True).first()
        if grant is None:
            raise Http404("Not found")
        breakglass.review(_me(request), grant, request.POST.get("note", ""), bool(request.POST.get("revoke")),
                          request=request)  # fmt: skip
        return redirect("accounts:break_glass_review")
    pending = list(grants.filter(reviewed_at__isnull=True).select_related("user"))
    done = list(grants.filter(reviewed_at__isnull=False).select_related("user", "reviewed_by")[:50])
    _label_targets([*pending, *done])
    return render(request, "accounts/break_glass_review.html", {"pending": pending, "done": done,
                                                                 "now": timezone.now()})  # fmt: skip


def _label_targets(grants: list[BreakGlassGrant]) -> None:
    """Name each grant's record as people know it (a case by its number), not by its uid."""
    from phare.cases.models import Case

    numbers = dict(Case.objects.filter(uid__in=[g.target_uid for g in grants if g.target_type == "cases.case"])
                   .values_list("uid", "number"))  # fmt: skip
    for g in grants:
        g.target_label = numbers.get(g.target_uid) or f"{g.target_type} {g.target_uid}"  # type: ignore[attr-defined]


# -- audit search ------------------------------------------------------------------------------------------


class AuditSearchForm(forms.Form):
    user = forms.CharField(label=gettext_lazy("Who (username)"), required=False, max_length=150)
    action = forms.ChoiceField(label=gettext_lazy("What"), required=False)
    target = forms.CharField(label=gettext_lazy("Record"), required=False, max_length=64,
                             help_text=gettext_lazy("A case number, or a record's identifier from this page"))
    since = forms.DateField(label=gettext_lazy("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    viewed_only = forms.BooleanField(label=gettext_lazy("Only reads (who viewed this record)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from phare.audit.words import FAMILIES

        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", _("Everything")), *FAMILIES]


READ_ACTIONS = Q(action__contains="view") | Q(action__contains="read") | Q(action__endswith=".open")
AUDIT_PAGE_SIZE = 50


@require_perm(READ_AUDIT)
@transaction.atomic
def audit_search(request: HttpRequest) -> HttpResponse:
    """The organisation's audit log in words (phare.audit.words), newest first, fifty events a page."""
    from django.core.paginator import Paginator

    from phare.audit.words import describe
    from phare.cases.models import Case

    query = request.GET.copy()
    query.pop("page", None)
    form = AuditSearchForm(query or None)
    org = _org(request)
    events = AuditEvent.objects.filter(organisation_id=org)
    filters: dict[str, Any] = {}
    if form.is_valid():
        d = form.cleaned_data
        if d["user"]:
            events = events.filter(actor_name__iexact=d["user"])
        if d["action"]:
            events = events.filter(action__startswith=d["action"])
        if d["target"]:
            # A case number names the case and the records inside it (their events carry the number).
            uid = Case.objects.filter(organisation_id=org, number=d["target"]).values_list("uid", flat=True).first()
            wanted = Q(target_id=d["target"])
            if uid is not None:
                wanted |= Q(target_id=str(uid)) | Q(detail__case=d["target"])
            events = events.filter(wanted)
        if d["since"]:
            events = events.filter(at__gte=_day_start(d["since"]))
        if d["until"]:
            events = events.filter(at__lt=_day_start(d["until"]) + timedelta(days=1))
        if d["viewed_only"]:
            events = events.filter(READ_ACTIONS)
        filters = {k: str(v) for k, v in d.items() if v}
    record("audit.search", actor=request.user, request=request, detail=filters)
    page = Paginator(events.order_by("-id"), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    return render(request, "accounts/audit.html", {"form": form, "events": rows, "lines": describe(rows), "page": page,
                                                   "query": query.urlencode()})  # fmt: skip


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.get_current_timezone())


def can_break_glass(user: Any) -> bool:
    return can(user, BREAK_GLASS)
