"""The retrain gate: does a challenger refit on newer data do no worse than the champion?

Both are scored on *gate events*: the newest events resolved since the champion's data end,
which neither saw. The challenger that is served trains on everything, gate events included, so
the gate scores a copy of its recipe refit without them; if that copy's macro AP on the gate
events is not more than ``margin`` below the champion's, the challenger is promoted. With too
few gate events the walk-forward record (refitting at ``retrain.every`` vs never, over the
hold-out) decides; with neither, the champion stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swingml.training.metrics import macro_ap


@dataclass(frozen=True)
class GateDecision:
    """Promote or not, why, and the figures the decision rests on (recorded on the version)."""

    promote: bool
    reason: str
    figures: dict[str, float]


def gate_rows(new_rows: np.ndarray, fraction: float) -> np.ndarray:
    """The newest ``fraction`` of ``new_rows`` (row indices in time order): the gate events."""
    count = int(np.floor(len(new_rows) * fraction))
    return new_rows[len(new_rows) - count :] if count else new_rows[:0]


def decide(
    y: np.ndarray,
    champion_proba: np.ndarray,
    challenger_proba: np.ndarray,
    margin: float,
    min_events: int,
    walkforward: tuple[float, float] | None = None,
) -> GateDecision:
    """The gate on events ``y`` both models never saw; ``walkforward`` is (AP refit at the
    cadence, AP never refit) of the model's walk-forward record, used when events are few."""
    figures: dict[str, float] = {"gate_events": float(len(y))}
    if len(y) >= min_events:
        champion, challenger = macro_ap(y, champion_proba), macro_ap(y, challenger_proba)
        figures.update(gate_champion_ap=champion, gate_challenger_ap=challenger)
        ok = bool(challenger >= champion - margin)
        verdict = "not worse than" if ok else "worse than"
        return GateDecision(
            ok,
            f"on {len(y)} events neither saw, the refit recipe scores macro AP {challenger:.4f}, "
            f"{verdict} the champion's {champion:.4f} (margin {margin})",
            figures,
        )
    if walkforward is not None and all(np.isfinite(walkforward)):
        refit, never = walkforward
        figures.update(walkforward_refit_ap=refit, walkforward_never_ap=never)
        ok = bool(refit >= never - margin)
        return GateDecision(
            ok,
            f"only {len(y)} gate events (< {min_events}); the walk-forward record decides: "
            f"refitting scored {refit:.4f} vs {never:.4f} never refit (margin {margin})",
            figures,
        )
    return GateDecision(
        False,
        f"only {len(y)} gate events (< {min_events}) and no walk-forward record: the champion "
        "stays (more resolved events, `swingml walkforward`, or --force)",
        figures,
    )


def forced(ruling: GateDecision) -> GateDecision:
    """``--force``: promote whatever the gate ruled, recording what it said."""
    return GateDecision(True, f"forced (--force); the gate said: {ruling.reason}", ruling.figures)
