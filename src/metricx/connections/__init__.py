"""Connections of a workspace: token-based connect, settings, status, sync-now and CSV import.

router.py (HTTP) → service.py (rules, encryption) → repository.py (scoped SQL).
The sync itself lives in metricx.sync; jobs in metricx.jobs.
"""
