"""Developer scripts. Packages here run as modules from the repository root, e.g.
`python -m scripts.soak` (`make soak`); plain scripts run by path (`scripts/generate.py`)."""
