"""A hostile image corpus, generated deterministically in code (no binary files committed).

``corpus.hostile_files()`` builds it; ``run`` fingerprints a directory of files in a fresh
process and reports outcomes, times and peak memory (used by the tests and the bench).
"""
