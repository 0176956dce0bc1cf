"""HTCDS 2.0 as a pure-Python package: catalogue, validation, JSON Schema, de-identification."""
