"""greenpsyco's psycopg2.errors against the real module (psycopg2-binary, imported under its own name)."""

from __future__ import annotations

import pickle
import sys
import types

import psycopg2
import psycopg2._psycopg as real_psycopg
import psycopg2.errors as real
import pytest

from greenpsyco.fake_psycopg2 import _exceptions
from greenpsyco.fake_psycopg2 import errors as fake

BASE_NAMES = [
    "Error",
    "Warning",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "QueryCanceledError",
    "TransactionRollbackError",
]
CLASS_NAMES = [name for name in dir(real) if isinstance(getattr(real, name), type)]


def describe(cls: type) -> tuple[str, str, str]:
    return cls.__module__, cls.__qualname__, cls.__name__


def test_the_module_has_exactly_psycopg2s_names() -> None:
    assert dir(fake) == dir(real)
    assert sorted(vars(fake)) == sorted(vars(real))
    assert len(CLASS_NAMES) == 266


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_every_class_has_psycopg2s_identity_bases_and_mro(name: str) -> None:
    ours, theirs = getattr(fake, name), getattr(real, name)
    assert isinstance(ours, type)
    assert describe(ours) == describe(theirs)
    assert [describe(base) for base in ours.__bases__] == [describe(base) for base in theirs.__bases__]
    assert [describe(cls) for cls in ours.__mro__] == [describe(cls) for cls in theirs.__mro__]
    assert not hasattr(ours, "sqlstate")
    if name not in BASE_NAMES:
        assert ours.__doc__ is None
        assert sorted(vars(ours)) == sorted(vars(theirs)) == ["__doc__", "__module__"]


def test_the_base_classes_are_the_db_api_classes() -> None:
    for name in BASE_NAMES:
        assert getattr(fake, name) is getattr(_exceptions, name)


def test_sqlstate_errors_is_psycopg2s_table() -> None:
    from greenpsyco.fake_psycopg2.errors import sqlstate_errors

    assert len(sqlstate_errors) == 254
    assert [(code, cls.__name__) for code, cls in sqlstate_errors.items()] == [
        (code, cls.__name__) for code, cls in real_psycopg.sqlstate_errors.items()
    ]
    for cls in sqlstate_errors.values():
        assert getattr(fake, cls.__name__) is cls
    assert isinstance(fake, types.ModuleType)


@pytest.mark.parametrize("code", list(real_psycopg.sqlstate_errors))
def test_lookup_every_code(code: str) -> None:
    assert describe(fake.lookup(code)) == describe(real.lookup(code))


@pytest.mark.parametrize("code", ["ZZZZZ", "23", "", 23505])
def test_lookup_of_an_unknown_code_raises_the_same_key_error(code: object) -> None:
    with pytest.raises(KeyError) as real_info:
        real.lookup(code)
    with pytest.raises(KeyError) as fake_info:
        fake.lookup(code)  # type: ignore[arg-type]
    assert fake_info.value.args == real_info.value.args


def test_lookup_looks_like_psycopg2s() -> None:
    assert fake.lookup.__module__ == "psycopg2.errors"
    assert fake.lookup("23505") is fake.UniqueViolation
    assert fake.lookup("XX000") is fake.InternalError_


def test_measured_mros_of_the_reference() -> None:
    def names(cls: type) -> list[str]:
        return [c.__name__ for c in cls.__mro__]

    assert names(fake.QueryCanceled) == [
        "QueryCanceled",
        "QueryCanceledError",
        "OperationalError",
        "DatabaseError",
        "Error",
        "Exception",
        "BaseException",
        "object",
    ]
    assert names(fake.SerializationFailure)[:3] == [
        "SerializationFailure",
        "TransactionRollbackError",
        "OperationalError",
    ]
    assert names(fake.DuplicateDatabase)[:3] == ["DuplicateDatabase", "ProgrammingError", "DatabaseError"]


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_classes_are_constructible_from_a_message_like_psycopg2s(name: str) -> None:
    ours = getattr(fake, name)("role does not exist")
    theirs = getattr(real, name)("role does not exist")
    assert str(ours) == str(theirs)
    assert ours.args == theirs.args
    if isinstance(theirs, psycopg2.Error):
        assert (ours.pgerror, ours.pgcode, ours.cursor) == (theirs.pgerror, theirs.pgcode, theirs.cursor)


@pytest.fixture
def fake_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``psycopg2.errors`` name greenpsyco's module, as the patch does, for pickle's lookups."""
    monkeypatch.setitem(sys.modules, "psycopg2.errors", fake)


@pytest.mark.usefixtures("fake_installed")
@pytest.mark.parametrize("code", list(real_psycopg.sqlstate_errors))
def test_every_sqlstate_class_pickles(code: str) -> None:
    cls = fake.lookup(code)
    error = cls("boom\n")
    error.pgerror = "ERROR:  boom\n"
    error.pgcode = code
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol))
        assert type(copy) is cls
        assert copy.args == ("boom\n",)
        assert (copy.pgerror, copy.pgcode) == ("ERROR:  boom\n", code)
        assert copy.diag.sqlstate is None  # like psycopg2: the server's fields do not travel
