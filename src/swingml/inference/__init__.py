"""Batch and live predictions of the champion models, kept in an append-once store (SPEC §9)."""
