"""PostgreSQL protocol 3.0, without psycopg2 semantics: a sans-I/O core and two drivers of it."""
