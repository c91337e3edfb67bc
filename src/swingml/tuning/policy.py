"""Pure rules between tuning stages: which models a stage tunes, where each study starts, and
which parameters training finally uses. Frames in, frames or dicts out; nothing here reads files.

A stage's ``StageSpec`` drives them: ``models`` names the rule that picks its models,
``seed_from`` the stage whose optima start its studies, ``cv`` whether its scores count as
rolling-CV evidence for the final choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from swingml.modeling.space import ParamValue, snap
from swingml.tuning.stages import STAGES, StageSpec, spec, top_models, window_representatives


def params_by(frame: pd.DataFrame, column: str) -> dict[Any, dict[str, ParamValue]]:
    """Each row's parameters keyed by ``column``, for rows with a finite score and parameters."""
    out: dict[Any, dict[str, ParamValue]] = {}
    for row in frame.to_dict("records"):
        params = json.loads(str(row["params"]))
        if params and np.isfinite(float(row["score"])):
            out[row[column]] = params
    return out


def stage_models(
    stage: StageSpec, best: pd.DataFrame, seed: pd.DataFrame | None, count: int
) -> pd.DataFrame:
    """The models a study stage tunes, by ``stage.models``.

    ``best`` is stage 1's best variant per main variant; ``seed`` the results of
    ``stage.seed_from``; ``count`` how many of them ``best_main_variants`` keeps.
    """
    if stage.models == "window_representatives":
        return window_representatives(best)
    if stage.models == "main_variants":
        return best
    if stage.models == "best_main_variants" and seed is not None:
        return top_models(seed, count)
    raise ValueError(f"stage {stage.number}: no models for {stage.models!r}")


def start_params(
    stage: StageSpec, models: pd.DataFrame, seed: pd.DataFrame | None
) -> dict[str, dict[str, ParamValue]]:
    """Per model, the optimum of ``stage.seed_from`` its study starts from.

    A seed stage that tuned one model per window seeds every main variant of that window; a
    fixed space gets the optimum projected onto it, a space built around the optimum takes it
    as it is.
    """
    if stage.seed_from is None or seed is None:
        return {}
    by_window = spec(stage.seed_from).models == "window_representatives"
    found = params_by(seed, "w" if by_window else "main_id")
    start: dict[str, dict[str, ParamValue]] = {}
    for row in models.to_dict("records"):
        params = found.get(int(row["w"]) if by_window else str(row["main_id"]))
        if params is not None:
            fixed = stage.space != "narrow"
            start[str(row["main_id"])] = snap(params, stage.search_space()) if fixed else params
    return start


def best_params(
    best: pd.DataFrame, results: Mapping[int, pd.DataFrame]
) -> dict[str, dict[str, Any]]:
    """Per main variant: its stage-1 variant and the best parameters tuning found for it.

    The best trial of a rolling-CV stage wins unless LightGBM's defaults score at least as well
    on the same folds (``stage`` 0; ties go to the earlier stage); without a rolling-CV result,
    the window's optimum from a holdout stage (projected onto the first rolling stage's space),
    else the defaults (``stage`` 1). ``results`` holds each finished study stage's results.
    """
    rolling = [s for s in STAGES if s.cv == "rolling" and s.models != "variants"]
    candidates: dict[str, list[tuple[float, int, dict[str, ParamValue]]]] = {}
    for stage in rolling:
        for found in results.get(stage.number, pd.DataFrame()).to_dict("records"):
            score = float(found["score"])
            main_id = str(found["main_id"])
            if np.isfinite(score) and str(found["params"]) != "{}":
                candidate = (score, stage.number, json.loads(str(found["params"])))
                candidates.setdefault(main_id, []).append(candidate)
            baseline = float(found.get("baseline_score", float("nan")))
            if np.isfinite(baseline):
                candidates.setdefault(main_id, []).append((baseline, 0, {}))
    windows = [s for s in STAGES if s.models == "window_representatives" and s.number in results]
    by_window = {
        w: (s.number, p) for s in windows for w, p in params_by(results[s.number], "w").items()
    }
    out: dict[str, dict[str, Any]] = {}
    for row in best.to_dict("records"):
        main_id = str(row["main_id"])
        entry: dict[str, Any] = {
            "variant_id": str(row["variant_id"]),
            "stage1_score": float(row["score"]),
        }
        if main_id in candidates:
            score, number, params = max(candidates[main_id], key=lambda c: (c[0], -c[1]))
            entry.update(params=params, cv_score=score, stage=number)
        elif int(row["w"]) in by_window:
            number, window_best = by_window[int(row["w"])]
            space = rolling[0].search_space()
            entry.update(params=snap(window_best, space), cv_score=None, stage=number)
        else:
            entry.update(params={}, cv_score=None, stage=1)
        out[main_id] = entry
    return out
