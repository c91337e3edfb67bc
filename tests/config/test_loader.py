"""Config layering and validation: every problem names the layer and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from swingml.config import config_dir, load_config, profile_names
from swingml.errors import BadInputError

PROFILES = {
    "local-dev",
    "local-integration",
    "central-dev",
    "integration-test",
    "staging",
    "production",
}


def test_every_spec_profile_ships_and_loads() -> None:
    assert set(profile_names()) >= PROFILES
    for name in profile_names():
        config = load_config(name)
        assert config.run.profile == name


def test_base_yaml_holds_every_default() -> None:
    import yaml

    from swingml.config import Config

    base = yaml.safe_load((config_dir() / "base.yaml").read_text())
    assert base == Config().model_dump(mode="json")


def test_layers_apply_in_order(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("data:\n  interval: 4h\ntuning:\n  budget: 3\n")
    config = load_config(
        "integration-test", [extra], ["tuning.budget=2.5", "grid.windows=[2, 3]"], tmp_path / "r"
    )
    assert config.data.interval == "4h"  # from the extra file
    assert config.tuning.budget == 2.5  # --set wins over the file
    assert config.grid.windows == (2, 3)
    assert config.features.profile == "tiny"  # from the profile
    assert config.run.dir == str(tmp_path / "r")


def test_set_is_enough_to_point_a_run_at_other_data() -> None:
    config = load_config(overrides=["data.dir=/data/x", "data.interval=15m"])
    assert config.data.dir == "/data/x"
    assert config.data.interval_seconds == 900


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("data.intervall=1h", "data.intervall", "unknown key"),
        ("tuning.budget=-1", "tuning.budget", "greater than 0"),
        ("data.interval=7m", "data.interval", "unknown interval"),
        ("split.holdout_fraction=abc", "split.holdout_fraction", "valid number"),
        ("tuning.shares=[0.5, 0.5, 0.5, 0.5]", "tuning.shares", "sum to 1"),
        ("executor.kind=slurm", "executor.kind", "'local' or 'ray'"),
        ("grid.windows=[0]", "grid.windows", "at least 1 bar"),
        ("grid.s=[1.0, -1.0]", "grid.s", "greater than 0"),
    ],
)
def test_bad_override_names_origin_key_and_rule(override: str, key: str, words: str) -> None:
    with pytest.raises(BadInputError) as info:
        load_config(overrides=[override])
    message = str(info.value)
    assert "--set" in message
    assert key in message
    assert words in message


def test_bad_file_value_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid:\n  windows: []\n")
    with pytest.raises(BadInputError) as info:
        load_config(files=[bad])
    assert str(bad) in str(info.value)
    assert "grid.windows" in str(info.value)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(BadInputError) as info:
        load_config("nope")
    assert "local-dev" in str(info.value)


def test_malformed_override_and_yaml(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"dotted\.key=value"):
        load_config(overrides=["novalue"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(BadInputError, match="not valid YAML"):
        load_config(files=[broken])


def test_config_is_frozen() -> None:
    from pydantic import ValidationError

    config = load_config()
    with pytest.raises(ValidationError):
        config.data.interval = "4h"  # type: ignore[misc]


def test_slice_hash_changes_only_with_its_sections() -> None:
    a = load_config()
    b = load_config(overrides=["tuning.budget=9"])
    c = load_config(overrides=["grid.k=[0.5]"])
    assert a.slice_hash("grid") == b.slice_hash("grid")
    assert a.slice_hash("grid") != c.slice_hash("grid")
