"""One module per suite: a function of the platform and the configuration that
returns every check's result (`CheckResult`), never raising for a failed probe."""
