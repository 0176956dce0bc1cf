from django.apps import AppConfig


class WorkConfig(AppConfig):
    """The work around the cases: tasks, approvals, hand-overs, notifications and each role's home page."""

    name = "phare.work"
    label = "work"
    default_auto_field = "django.db.models.BigAutoField"
