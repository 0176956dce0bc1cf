"""Job kinds. Each module that defines background work registers its handlers here by import."""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

# Modules that register handlers with @phare.jobs.queue.handler; missing ones are skipped so that an
# app under construction does not stop the worker.
HANDLER_MODULES = ["phare.imports.jobs", "phare.cases.jobs", "phare.sharing.jobs", "phare.ops.jobs", "phare.dashboards.jobs",
                   "phare.work.jobs"]

for _name in HANDLER_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        log.debug("no job handlers in %s", _name)
