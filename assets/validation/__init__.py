"""The validation programme (issue 15): six suites of checks against the running
platform, each an asset of the `validation` group, and their verdict."""
