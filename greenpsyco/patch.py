"""``patch()`` / ``unpatch()``: install the fake ``psycopg2``, hide psycopg 3 from Django, and make
Django's connections greenlet-local. (Filled by the cooperative-mode issue; nothing here yet.)"""
