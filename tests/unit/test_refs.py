"""The ledgers' resident reference: one format, read back the way it is written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.refs import resident_of, resident_ref


@given(st.integers(min_value=1, max_value=2**31 - 1))
def test_a_reference_names_its_resident(resident_id: int) -> None:
    assert resident_of(resident_ref(resident_id)) == resident_id


def test_other_references_name_no_resident() -> None:
    assert resident_of("erased:7") is None
    assert resident_of("resident:") is None
    assert resident_of("resident:7x") is None
