"""Reports: daily P&L, tax lots, exposure and compliance (the old `ptrc` and `pnl`).

`pnl`, `tax_lots`, `exposure` and `compliance` are the library (pure functions
over pandas frames, usable without Dagster); `config` reads config/reports.toml;
the rest are the Dagster assets, checks and the rendered reports built on them.
"""
