"""The demo's one app: a table of visits, written and read by the ``/visits/`` page."""
