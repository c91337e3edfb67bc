"""Swing events and triple-barrier targets (SPEC §4): pivots, events, labels, the grid, the guard.

``swings`` finds pivots and their significance, ``events`` the reversion and breakout events,
``labels`` the triple-barrier classes, ``table`` a symbol's long-form table for a whole grid,
``grid`` the variants and their ids, ``guard`` the leak guard every model input passes through.
"""
