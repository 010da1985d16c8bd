"""``greenpsyco demo``: a small Django project served by greenpsyco on an embedded PostgreSQL.

It shows the point of greenpsyco: a page whose view waits on a slow query (``pg_sleep``) can be
requested hundreds of times at once by one process, and a page that reads and writes real rows.
"""
