"""The unified social credit code check (GB 32100-2015), shared by ingest, profiling and the demo."""

from hypothesis import given
from hypothesis import strategies as st

from odwatch import codes


def test_a_published_code_is_valid_and_its_check_character_is_recomputed():
    assert codes.is_valid("91310000MA1FL4XK22")
    assert codes.check_char("91310000MA1FL4XK2") == "2"


def test_wrong_check_character_length_or_alphabet_is_invalid():
    assert not codes.is_valid("91310000MA1FL4XK2D")   # wrong check character
    assert not codes.is_valid("91310000MA1FL4XK2")    # too short
    assert not codes.is_valid("91310000MA1FL4XKI2")   # I is not in the alphabet
    assert not codes.is_valid("")
    assert not codes.is_valid(None)


def test_the_administrative_division_must_be_six_digits():
    # Ingest once accepted this (every character in the alphabet, check character right) while
    # profiling rejected it: places 3-8 are the division code, digits only.
    body = "91A10000MA1FL4XQ3"
    assert not codes.is_valid(body + codes.check_char(body))


@given(st.text(alphabet=codes.ALPHABET, min_size=2, max_size=2),
       st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.text(alphabet=codes.ALPHABET, min_size=9, max_size=9))
def test_every_body_of_the_right_shape_gets_exactly_one_check_character(authority, division, organisation):
    body = authority + division + organisation
    valid = [ch for ch in codes.ALPHABET if codes.is_valid(body + ch)]
    assert valid == [codes.check_char(body)]
