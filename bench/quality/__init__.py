"""Detection-quality benchmark: a deterministic image corpus and its evaluation.

``bench.quality.corpus`` builds the corpus (originals from packaged photos and
artworks, synthetic chat-like graphics, near-blank images, and transformed variants
of each) into a git-ignored cache directory. Run it with
``python -m bench.quality.corpus``.
"""
