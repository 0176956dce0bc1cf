"""Import sources for HTCDS data: the official templates, KoBo/ODK form exports, mapped spreadsheets and
HTCDS JSON bundles. Pure Python (no Django): the import command and the web upload both build on it.

Every source yields `(row_number, source_key, bundle)` and collects `Problem`s on `source.problems`.
"""
