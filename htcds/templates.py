"""Names of IOM's HTCDS Excel templates that differ from the standard's. The templates themselves are read by
htcds.sources (template.py), the one reader `phare import` and `phare htcds validate` share."""

from __future__ import annotations

# Misspellings found in the official templates, mapped to the standard's names.
FIELD_NAME_FIXES = {"vic_TraffickinStatusDecisionMakingOrg": "vic_TraffickingStatusDecisionMakingOrg"}
