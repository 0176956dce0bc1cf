"""Import sources for HTCDS data: the official templates, KoBo/ODK form exports, mapped spreadsheets and
HTCDS JSON bundles. Pure Python (no Django): the import command and the web upload both build on it.

Every source yields `(row_number, source_key, bundle)` and collects `Problem`s on `source.problems`;
`checked_rows` adds validation and hands back each row's problems with it.
"""

from htcds.sources.base import Row, Source
from htcds.sources.bundles import BundleSource
from htcds.sources.checked import CheckedRow, checked_rows, report_dict
from htcds.sources.detect import open_source
from htcds.sources.kobo import FormExportSource, FormJsonSource
from htcds.sources.mapped import MappedSource, Mapping, MappingError, load_mapping, parse_mapping, suggest_mapping
from htcds.sources.problems import SOURCE_CODES
from htcds.sources.template import TemplateSource

__all__ = [
    "SOURCE_CODES",
    "BundleSource",
    "CheckedRow",
    "FormExportSource",
    "FormJsonSource",
    "MappedSource",
    "Mapping",
    "MappingError",
    "Row",
    "Source",
    "TemplateSource",
    "checked_rows",
    "load_mapping",
    "open_source",
    "parse_mapping",
    "report_dict",
    "suggest_mapping",
]  # fmt: skip
