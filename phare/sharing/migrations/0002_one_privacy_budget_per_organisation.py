"""One privacy budget per organisation (every DP release draws on it), spends in zCDP rho, and the internal
report of a release kept apart from the one that goes out. Budgets an organisation had per dataset are merged
into its first one, keeping every spend: what was spent on the same people adds up."""

import math

import django.db.models.deletion
from django.db import migrations, models


def _rho(epsilon: float, delta: float) -> float:
    if delta <= 0:
        return epsilon**2 / 2
    log_term = math.log(1 / delta)
    return (math.sqrt(log_term + epsilon) - math.sqrt(log_term)) ** 2


def merge_budgets(apps, schema_editor):
    PrivacyBudget = apps.get_model("sharing", "PrivacyBudget")
    PrivacySpend = apps.get_model("sharing", "PrivacySpend")
    for spend in PrivacySpend.objects.all():
        spend.rho = _rho(spend.epsilon, spend.delta)
        spend.save(update_fields=["rho"])
    keep: dict[int, object] = {}
    for budget in PrivacyBudget.objects.order_by("organisation_id", "id"):
        first = keep.setdefault(budget.organisation_id, budget)
        if first is not budget:
            PrivacySpend.objects.filter(budget=budget).update(budget=first)
            budget.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("sharing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="privacyspend", name="rho", field=models.FloatField(default=0.0)),
        migrations.AddField(
            model_name="privacyspend",
            name="release",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="spends", to="sharing.release"),
        ),
        migrations.AddField(model_name="release", name="delta", field=models.FloatField(null=True)),
        migrations.AddField(model_name="release", name="internal_report", field=models.JSONField(default=dict)),
        migrations.RunPython(merge_budgets, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="privacybudget", name="one_budget_per_dataset"),
        migrations.RemoveField(model_name="privacybudget", name="dataset"),
        migrations.AddConstraint(
            model_name="privacybudget",
            constraint=models.UniqueConstraint(fields=("organisation",), name="one_privacy_budget_per_organisation"),
        ),
    ]
