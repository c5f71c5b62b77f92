"""The `features` group: feature sources from the warehouse, the Feast registry, the
online store and a point-in-time training frame (feature_repo/ holds the definitions)."""
