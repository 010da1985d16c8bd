"""psycopg2's public face on greenpsyco's wire driver. (Filled by the fake_psycopg2 issue.)"""
