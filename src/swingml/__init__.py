"""swingml: train, tune, register and serve LightGBM models of what follows crypto swing events."""

__version__ = "0.1.0"
