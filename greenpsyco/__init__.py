"""greenpsyco: a pure-Python psycopg2 on Twisted and greenlets for existing Django projects."""

__version__ = "0.1.0.dev0"
