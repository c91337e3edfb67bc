"""Tuning and production train through ``training.model.fit``: on a worker given an OpenCL device
it trains there (PoCL, the CPU's OpenCL driver, in CI) and scores as the CPU fit does.

Not bit for bit: on this toy problem the GPU fit stopped at 34 rounds where the CPU one ran 40, and
class probabilities differed by up to 0.2; the validation macro AP differed by 0.007. The stated
tolerance is on the score a study ranks trials by.
"""

from __future__ import annotations

import numpy as np
import pytest

from swingml.config import devices
from swingml.training.metrics import macro_ap
from swingml.training.model import TrainSettings, binned_dataset, fit, lgb_params

AP_TOLERANCE = 0.02


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 30)).astype(np.float32)
    y = ((X[:, 0] > 0).astype(int) + (X[:, 1] + 0.3 * rng.normal(size=3000) > 1)).astype(float)
    return X, y


def _fit() -> tuple[str, np.ndarray, int]:
    X, y = _data()
    full = binned_dataset(X, [f"f{i}" for i in range(30)], 1, 63)
    result = fit(
        full,
        y,
        np.arange(2400),
        np.arange(2400, 3000),
        {"num_leaves": 15, "learning_rate": 0.1},
        TrainSettings(num_rounds=40, early_stopping=10, seed=1),
    )
    return result.booster.model_to_string(), result.valid_proba, result.best_iteration


def test_fit_trains_on_the_assigned_opencl_device(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu_model, cpu_proba, _ = _fit()
    plan = devices.plan_devices("gpu", 1.0, None)
    assert plan.devices, "no OpenCL device: run scripts/setup_opencl.sh"
    for name, value in plan.environment(plan.devices[0]).items():
        monkeypatch.setenv(name, value)
    assert lgb_params({}, 100, seed=1, threads=1)["device_type"] == "gpu"
    gpu_model, gpu_proba, _ = _fit()
    assert "[device_type: gpu]" in gpu_model and "[device_type: gpu]" not in cpu_model
    y_valid = _data()[1][2400:]
    assert abs(macro_ap(y_valid, gpu_proba) - macro_ap(y_valid, cpu_proba)) <= AP_TOLERANCE
