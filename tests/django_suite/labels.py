"""The Django test labels that exercise the database driver most: what CI runs in every mode."""

from __future__ import annotations

CI_LABELS = (
    "backends",
    "db_utils",
    "postgres_tests",
    "transactions",
    "transaction_hooks",
    "select_for_update",
    "queries",
    "expressions",
    "aggregation",
    "db_functions",
    "model_fields",
    "bulk_create",
    "timezones",
    "serializers",
    "migrations",
    "schema",
    "introspection",
    "inspectdb",
    "raw_query",
)
