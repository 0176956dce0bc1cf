"""De-identification for sharing case data with the Counter-Trafficking Data Collaborative (CTDC).

Pure Python plus numpy, never Django: generalisation hierarchies, a risk report, k-anonymisation with a
lattice search, differentially private synthetic microdata and aggregate tables, a privacy-budget
ledger, and the HTCDS 2.0 -> CTDC crosswalk. Import the sub-modules directly; this package imports
nothing heavy on purpose.
"""
