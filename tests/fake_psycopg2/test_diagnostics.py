"""greenpsyco's psycopg2.extensions.Diagnostics against psycopg2's (values from the server are compared
in test_errormap.py, on real errors)."""

from __future__ import annotations

import copy
import pickle

import psycopg2
import psycopg2.extensions
import pytest

from greenpsyco.fake_psycopg2 import errors
from greenpsyco.fake_psycopg2._diagnostics import Diagnostics
from greenpsyco.fake_psycopg2._exceptions import Error
from greenpsyco.wire.errors import FIELD_NAMES

RealDiagnostics = psycopg2.extensions.Diagnostics
ATTRIBUTES = [name for name in dir(RealDiagnostics) if not name.startswith("_")]


def test_identity_and_attributes_match_psycopg2() -> None:
    assert Diagnostics.__module__ == RealDiagnostics.__module__ == "psycopg2.extensions"
    assert Diagnostics.__qualname__ == RealDiagnostics.__qualname__
    assert [name for name in dir(Diagnostics) if not name.startswith("_")] == ATTRIBUTES
    assert sorted(FIELD_NAMES.values()) == ATTRIBUTES
    assert repr(Diagnostics(Error("x"))).startswith("<psycopg2.extensions.Diagnostics object at 0x")


def test_every_attribute_is_none_for_a_hand_made_error() -> None:
    for ours, theirs in [
        (Error("x"), psycopg2.Error("x")),
        (errors.UniqueViolation(), psycopg2.errors.UniqueViolation()),
    ]:
        for name in ATTRIBUTES:
            assert getattr(ours.diag, name) is getattr(theirs.diag, name) is None


def test_attributes_read_the_error_fields_live() -> None:
    error = errors.UniqueViolation("duplicate")
    diag = Diagnostics(error)
    error._fields = {code: f"value of {code}" for code in FIELD_NAMES}
    for code, name in FIELD_NAMES.items():
        assert getattr(diag, name) == f"value of {code}"
        assert getattr(error.diag, name) == f"value of {code}"
    error._fields = {"C": "23505"}
    assert diag.sqlstate == "23505"
    assert diag.message_primary is None


def test_each_access_to_diag_builds_a_new_object() -> None:
    error = Error("x")
    assert error.diag is not error.diag
    assert type(error.diag) is Diagnostics


@pytest.mark.parametrize("argument", [None, 1, ValueError("x"), "x"])
def test_the_argument_must_be_a_psycopg2_error(argument: object) -> None:
    with pytest.raises(TypeError) as real_info:
        RealDiagnostics(argument)
    with pytest.raises(TypeError) as fake_info:
        Diagnostics(argument)  # type: ignore[arg-type]
    assert str(fake_info.value) == str(real_info.value) == "The argument must be a psycopg2.Error"


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_attributes_are_read_only_with_psycopg2s_message(name: str) -> None:
    with pytest.raises(AttributeError) as real_info:
        setattr(RealDiagnostics(psycopg2.Error("x")), name, "v")
    with pytest.raises(AttributeError) as fake_info:
        setattr(Diagnostics(Error("x")), name, "v")
    assert str(fake_info.value) == str(real_info.value)
    with pytest.raises(AttributeError):
        delattr(Diagnostics(Error("x")), name)


def test_no_other_attribute_can_be_set() -> None:
    with pytest.raises(AttributeError):
        Diagnostics(Error("x")).foo = 1  # type: ignore[attr-defined]


def test_refuses_to_pickle_or_copy_like_psycopg2() -> None:
    for diag in (RealDiagnostics(psycopg2.Error("x")), Diagnostics(Error("x"))):
        with pytest.raises(TypeError, match=r"cannot pickle 'psycopg2\.extensions\.Diagnostics' object"):
            pickle.dumps(diag)
        with pytest.raises(TypeError, match=r"cannot pickle 'psycopg2\.extensions\.Diagnostics' object"):
            copy.copy(diag)
