"""Execution quality: transaction cost analysis (TCA) of our orders and fills.

`tca` is the library (pure functions over pandas frames, usable without
Dagster); `summary` aggregates its rows; the rest are the Dagster assets,
checks and the daily report built on them.
"""
