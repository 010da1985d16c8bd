"""PostgreSQL encoding names and the Python codecs that read and write them."""

from __future__ import annotations

import codecs

# PostgreSQL's names (as ParameterStatus reports client_encoding) -> Python codec names.
PG_TO_PYTHON: dict[str, str] = {
    "UTF8": "utf-8",
    "SQL_ASCII": "ascii",
    "LATIN1": "latin-1",
    "LATIN2": "iso8859-2",
    "LATIN3": "iso8859-3",
    "LATIN4": "iso8859-4",
    "LATIN5": "iso8859-9",
    "LATIN6": "iso8859-10",
    "LATIN7": "iso8859-13",
    "LATIN8": "iso8859-14",
    "LATIN9": "iso8859-15",
    "LATIN10": "iso8859-16",
    "ISO_8859_5": "iso8859-5",
    "ISO_8859_6": "iso8859-6",
    "ISO_8859_7": "iso8859-7",
    "ISO_8859_8": "iso8859-8",
    "WIN866": "cp866",
    "WIN874": "cp874",
    "WIN1250": "cp1250",
    "WIN1251": "cp1251",
    "WIN1252": "cp1252",
    "WIN1253": "cp1253",
    "WIN1254": "cp1254",
    "WIN1255": "cp1255",
    "WIN1256": "cp1256",
    "WIN1257": "cp1257",
    "WIN1258": "cp1258",
    "KOI8R": "koi8-r",
    "KOI8U": "koi8-u",
    "EUC_JP": "euc-jp",
    "EUC_KR": "euc-kr",
    "EUC_CN": "gb2312",
    "EUC_JIS_2004": "euc_jis_2004",
    "SJIS": "shift_jis",
    "SHIFT_JIS_2004": "shift_jis_2004",
    "BIG5": "big5",
    "GBK": "gbk",
    "GB18030": "gb18030",
    "UHC": "cp949",
    "JOHAB": "johab",
}


def normalize_name(name: str) -> str:
    """PostgreSQL's canonical spelling of an encoding name (``utf-8`` -> ``UTF8``)."""
    return "".join(ch for ch in name.upper() if ch.isalnum() or ch == "_").replace("UTF_8", "UTF8")


def python_codec(pg_name: str) -> str:
    """The Python codec for a PostgreSQL encoding name; unknown names raise ``LookupError``."""
    key = normalize_name(pg_name)
    if key in PG_TO_PYTHON:
        return PG_TO_PYTHON[key]
    for name, codec in PG_TO_PYTHON.items():
        if name.replace("_", "") == key.replace("_", ""):
            return codec
    raise LookupError(f"no Python codec for PostgreSQL encoding {pg_name!r}")


def is_ascii_safe(pg_name: str) -> bool:
    """Whether every byte < 0x80 of this encoding means its ASCII character in every position.

    Client-side interpolation escapes quotes and backslashes byte by byte; in encodings such as SJIS or
    BIG5 a multibyte character can end in 0x5C (``\\``) and smuggle a quote out of a literal.
    """
    codec = codecs.lookup(python_codec(pg_name)).name
    return codec not in {"shift_jis", "shift_jis_2004", "big5", "gbk", "gb18030", "cp949", "johab"}
