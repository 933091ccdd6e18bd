"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.6651, "phrase": 6.3022, "matched": 2.9984, "unknown": 0.2920, "length": 0.7000, "lead": 4.4108, "relative": 5.8481, "others": 5.9618},
        -11.5737, 0.46, 0.2),
    "use-m3": ({"coverage": -0.4367, "phrase": 3.2400, "matched": 3.2603, "unknown": -0.4070, "length": -0.7374, "lead": 2.9725, "relative": 3.8264, "others": 5.3523, "near": 4.6587, "klass": 0.4183, "near_lead": 4.6693, "klass_lead": 6.0882},
        -9.8174, 0.48, 0.2),
}
