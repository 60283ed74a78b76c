"""``python -m bench.quality``: run the detection-quality evaluation (see evaluate.py)."""

from bench.quality.evaluate import main

raise SystemExit(main())
