"""The champion models to serve: each registered model's ``champion`` version, checked for use.

A champion carries its variant (tag ``variant_id``) and its input columns (the booster's feature
names, which must hash to its ``features_sha256`` tag). Those columns go through the leak guard
against the current feature store: a champion that needs a column the store does not vouch for
cannot be served and is reported as bad input, naming the model, the version and the columns.
On a shared server only the models named for this run's ``registry.model_prefix`` and interval are
considered, and a champion whose ``interval`` tag differs from the run's is refused the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swingml.config import TargetsConfig
from swingml.errors import BadInputError
from swingml.registry.mlflow_registry import MlflowRegistry, features_hash, main_id_of
from swingml.targets.grid import Variant
from swingml.targets.guard import guard_inputs
from swingml.training.model import Booster

MAIN_ID = re.compile(r"[A-Z0-9]+-w\d+-(high|low)")
"""A main variant id, ``<SYMBOL>-w<w>-<side>`` (``Variant.main_id``)."""


@dataclass(frozen=True)
class Champion:
    """One model version to serve: its name, version, variant, input columns and booster.

    ``name`` is the run's model id (the main variant, the key of the prediction store);
    ``registered`` the name it has in the registry (with prefix and interval), when that differs.
    """

    name: str
    version: str
    variant: Variant
    features: tuple[str, ...]
    booster: Booster
    registered: str = ""
    last_trained_event: pd.Timestamp | None = None
    """The latest event this version trained on (every earlier labelled event was a training
    row); None for versions that do not record it."""

    def horizon(self, targets: TargetsConfig) -> int:
        """The label horizon of the champion's variant, in bars."""
        return self.variant.horizon(targets)


def champion_variant(
    name: str, version: str, tags: Mapping[str, str], main_id: str | None = None
) -> Variant:
    """The variant a model version was trained on (its ``variant_id`` tag), checked against the
    main variant its model is named for (``main_id``; the name itself when not given)."""
    where = f"model {name} version {version}"
    try:
        variant = Variant.from_id(tags.get("variant_id", ""))
    except ValueError:
        raise BadInputError(
            where, f"tag variant_id {tags.get('variant_id')!r} is not a variant id", "retrain it"
        ) from None
    if variant.main_id != (main_id or name):
        raise BadInputError(
            where, f"its variant {variant.id} belongs to model {variant.main_id}", "retrain it"
        )
    return variant


def check_champion(
    name: str,
    version: str,
    tags: Mapping[str, str],
    booster: Booster,
    metadata: Mapping[str, Mapping[str, Any]],
    main_id: str | None = None,
    interval: str | None = None,
) -> Champion:
    """Build a ``Champion`` from what the registry holds, or say why it cannot be served."""
    where = f"model {name} version {version}"
    variant = champion_variant(name, version, tags, main_id)
    trained = tags.get("interval")
    if interval is not None and trained is not None and trained != interval:
        raise BadInputError(
            where,
            f"was trained on {trained} candles but this run's data.interval is {interval}",
            f"promote a {interval} version (`swingml registry versions {name}`) or retrain",
        )
    features = tuple(str(f) for f in booster.feature_name())
    expected = tags.get("features_sha256")
    if expected is not None and features_hash(features) != expected:
        raise BadInputError(
            where,
            "the booster's feature names do not hash to its features_sha256 tag",
            "re-register the model with `swingml train`",
        )
    kept, dropped = guard_inputs(features, metadata)
    if dropped:
        shown = "; ".join(f"{c}: {r}" for c, r in list(dropped.items())[:3])
        more = f" and {len(dropped) - 3} more" if len(dropped) > 3 else ""
        raise BadInputError(
            where,
            f"{len(dropped)} input column(s) fail the leak guard against the feature store "
            f"({shown}{more})",
            "run `swingml features` with the config the model was trained with, or retrain",
        )
    last = tags.get("trained_last_event")
    stamp = pd.Timestamp(last) if last else None
    if stamp is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return Champion(main_id or name, version, variant, tuple(kept), booster, name, stamp)


def load_champions(
    registry: MlflowRegistry,
    symbols: Sequence[str],
    metadata: Mapping[str, Mapping[str, Any]],
    interval: str | None = None,
    prefix: str = "",
) -> tuple[list[Champion], list[str]]:
    """Every champion whose symbol is in ``symbols``, by name; and the names skipped (others).

    With ``interval`` given, only models named ``<prefix><main_id>-<interval>`` count (a shared
    server holds other runs' models too) and each champion must carry that interval.
    """
    champions: list[Champion] = []
    skipped: list[str] = []
    like = None if interval is None else f"{prefix}%-{interval}"
    for summary in registry.models(like):
        main_id = summary.name if interval is None else main_id_of(summary.name, interval, prefix)
        if summary.champion_version is None or main_id is None:
            continue
        if not MAIN_ID.fullmatch(main_id):
            continue  # a model of another prefix that ends like ours
        if main_id.rsplit("-w", 1)[0] not in symbols:
            skipped.append(summary.name)
            continue
        loaded = registry.load_champion(summary.name)
        if loaded is None:
            continue
        version, tags, booster = loaded
        if champion_variant(summary.name, version, tags, main_id).symbol not in symbols:
            skipped.append(summary.name)
            continue
        champions.append(
            check_champion(summary.name, version, tags, booster, metadata, main_id, interval)
        )
    return sorted(champions, key=lambda c: c.name), skipped


class ChampionCache:
    """The champions of a long-running ``predict live --follow``, loaded once and kept.

    ``refresh`` lists the champion aliases (one registry call) and loads a booster only for a
    model whose alias moved (or that is new): a champion promoted between two cycles is served
    from the next one, and a steady cycle costs no model loading at all.
    """

    def __init__(self) -> None:
        self._held: dict[str, Champion] = {}
        self._other: dict[str, str] = {}  # champions of symbols not served, by version
        self.created_ms: dict[str, int] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.loads = 0

    def refresh(
        self,
        registry: MlflowRegistry,
        symbols: Sequence[str],
        metadata: Mapping[str, Mapping[str, Any]],
        interval: str | None = None,
        prefix: str = "",
    ) -> tuple[list[Champion], list[str]]:
        """The current champions of ``symbols`` by name, and the names skipped (other symbols).

        With ``interval``, only models named ``<prefix><main_id>-<interval>`` count, as in
        :func:`load_champions`; ``created_ms`` and ``tags`` are keyed by the champion's name.
        """
        aliases = {}
        for name, version in registry.champion_versions().items():
            main_id = name if interval is None else main_id_of(name, interval, prefix)
            if main_id is not None and MAIN_ID.fullmatch(main_id):
                aliases[name] = (main_id, version)
        for name in [n for n in self._held if n not in aliases]:
            del self._held[name]
        for name, (main_id, version) in sorted(aliases.items()):
            held = self._held.get(name)
            if (held is not None and held.version == version) or self._other.get(name) == version:
                continue
            loaded = registry.load_champion(name)
            if loaded is None:
                self._held.pop(name, None)
                continue
            got, tags, booster = loaded
            self.loads += 1
            if champion_variant(name, got, tags, main_id).symbol not in symbols:
                self._other[name] = got
                self._held.pop(name, None)
                continue
            champion = check_champion(name, got, tags, booster, metadata, main_id, interval)
            self._held[name] = champion
            self.created_ms[champion.name] = registry.version_created_ms(name, got)
            self.tags[champion.name] = dict(tags)
        skipped = sorted(n for n in aliases if n in self._other and n not in self._held)
        return sorted(self._held.values(), key=lambda c: c.name), skipped
