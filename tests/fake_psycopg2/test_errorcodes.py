"""greenpsyco's psycopg2.errorcodes against the real module (psycopg2-binary, imported under its name)."""

from __future__ import annotations

import inspect

import psycopg2.errorcodes as real
import pytest

from greenpsyco.fake_psycopg2 import errorcodes as fake


def constants(module: object) -> list[tuple[str, object]]:
    return [(name, value) for name, value in vars(module).items() if name.isupper()]


def test_every_constant_in_the_same_order() -> None:
    assert constants(fake) == constants(real)
    assert len(constants(fake)) == 308


def test_the_module_defines_the_same_names() -> None:
    assert dir(fake) == dir(real)


@pytest.mark.parametrize("code", [value for _, value in constants(real)])
def test_lookup_of_every_class_and_element_code(code: str) -> None:
    assert fake.lookup(code) == real.lookup(code)


def test_lookup_examples() -> None:
    assert fake.lookup("23505") == "UNIQUE_VIOLATION"
    assert fake.lookup("23") == "CLASS_INTEGRITY_CONSTRAINT_VIOLATION"
    # a condition present in two classes: the underscore that disambiguates the constant is dropped
    assert fake.STRING_DATA_RIGHT_TRUNCATION_ == "01004"
    assert fake.lookup("01004") == fake.lookup("22001") == "STRING_DATA_RIGHT_TRUNCATION"


@pytest.mark.parametrize("code", ["ZZZZZ", "2", "", "235050", 5, None])
def test_unknown_codes_raise_the_same_key_error(code: object) -> None:
    with pytest.raises(KeyError) as real_info:
        real.lookup(code)
    with pytest.raises(KeyError) as fake_info:
        fake.lookup(code)  # type: ignore[arg-type]
    assert fake_info.value.args == real_info.value.args


def test_lookup_looks_like_psycopg2s() -> None:
    assert list(inspect.signature(fake.lookup).parameters) == list(inspect.signature(real.lookup).parameters)
    assert fake.lookup.__module__ == "psycopg2.errorcodes"
    assert fake.lookup.__name__ == real.lookup.__name__
