"""The generator contract: registry, parameter validation with config-key errors, float32 output."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from swingml.errors import BadInputError
from swingml.features.base import FAMILIES, build, registry
from swingml.features.technical import Rsi

CandleMaker = Callable[..., pd.DataFrame]


def test_registry_covers_all_five_families() -> None:
    families = {cls.family for cls in registry().values()}
    assert families == set(FAMILIES)
    assert len(registry()) >= 30


def test_build_unknown_generator_names_the_key() -> None:
    with pytest.raises(BadInputError) as err:
        build({"name": "rsx", "params": {}}, "features.generators[3]")
    assert "features.generators[3].name" in str(err.value)
    assert "rsi" in err.value.fix  # lists the known ones


def test_build_unknown_parameter_names_the_key() -> None:
    with pytest.raises(BadInputError) as err:
        build({"name": "rsi", "params": {"periodz": [14]}}, "features.generators[3]")
    assert "features.generators[3].params.periodz" in str(err.value)
    assert "unknown parameter" in err.value.rule


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"periods": [0]}, "params.periods"),
        ({"periods": [14, 14]}, "params.periods"),
        ({"transforms": ["zz_5"]}, "params.transforms"),
        ({"transforms": ["z_2"]}, "params.transforms"),
        ({"timeframes": "sometimes"}, "params.timeframes"),
    ],
)
def test_build_invalid_values_name_the_key(params: dict[str, object], key: str) -> None:
    with pytest.raises(BadInputError) as err:
        build({"name": "rsi", "params": params}, "features.generators[0]")
    assert f"features.generators[0].{key}" in str(err.value)


def test_temporal_generators_refuse_timeframes() -> None:
    with pytest.raises(BadInputError, match=r"generators\[1\]\.params\.timeframes"):
        build({"name": "calendar", "params": {"timeframes": True}}, "features.generators[1]")


def test_compute_returns_declared_float32_columns(candles: CandleMaker) -> None:
    frame = candles(300)
    gen = build({"name": "rsi", "params": {"periods": [7, 21]}}, "x")
    assert isinstance(gen, Rsi)
    out = gen.compute(frame)
    assert list(out) == [o.name for o in gen.outputs()] == ["rsi_7", "rsi_21"]
    for values in out.values():
        assert values.dtype == np.float32
        assert values.shape == (300,)
        assert not np.isinf(values).any()


def test_every_registered_generator_declares_what_it_computes(candles: CandleMaker) -> None:
    frame = candles(400, gaps=((100, 5),))
    for name, cls in registry().items():
        gen = cls()
        outputs = gen.outputs()
        names = [o.name for o in outputs]
        assert len(set(names)) == len(names), name
        assert all(o.lookback >= 0 for o in outputs), name
        out = gen.compute(frame)
        assert list(out) == names, name
        assert all(v.dtype == np.float32 and len(v) == len(frame) for v in out.values()), name
        assert gen.spec()["name"] == name
