from __future__ import annotations

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "phare.imports"
    label = "imports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from htcds.sources import limits

        # The readers are pure Python and know nothing of settings: hand them the limits once per process.
        limits.configure(max_bytes=settings.PHARE_IMPORT_MAX_MB * limits.MIB, max_rows=settings.PHARE_IMPORT_MAX_ROWS,
                         max_cells=settings.PHARE_IMPORT_MAX_CELLS, max_cell_chars=settings.PHARE_IMPORT_MAX_CELL_CHARS,
                         max_json_depth=settings.PHARE_IMPORT_MAX_JSON_DEPTH)  # fmt: skip
