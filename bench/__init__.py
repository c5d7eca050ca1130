"""Bureau's benchmarks: `python -m bench` (what `make bench` runs).

Each benchmark writes JSON and a short Markdown summary to bench/results/.
"""
