"""Indicators of compromise: parsing them, the policy on which may be added, and their store of record."""
