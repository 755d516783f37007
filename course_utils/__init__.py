"""Helpers of the course *Large Models, Hands-On*.

One module per topic, imported explicitly (``from course_utils import data, runtime``):

- :mod:`course_utils.data`: the dataset registry, checked offline MNIST loading, shipped tables (notebook 00);
- :mod:`course_utils.runtime`: fast mode, seeds, the environment report (notebook 00);
- :mod:`course_utils.mathref`: every formula of the math chapter in NumPy, checked against TensorFlow (notebook 04);
- :mod:`course_utils.models`: the article's CNN and the course's CNN (notebooks 05 and 06);
- :mod:`course_utils.plots`: learning curves, digit grids, filters and feature maps (notebooks 05 and 06);
- :mod:`course_utils.widgets`: explorers that leave a static figure when run headless (notebooks 00 and 04);
- :mod:`course_utils.train`: devices, tf.data, mixed precision, distribution, callbacks (notebook 06);
- :mod:`course_utils.recipes`: the article's training recipe and the course's faster one (notebook 06);
- :mod:`course_utils.evaluation`: your own digit, worst mistakes, calibration (notebook 07);
- :mod:`course_utils.fewlabels`: pretext tasks, pseudo-labels, linear probes, transfer, feature maps (notebook 09);
- :mod:`course_utils.compress`: magnitude pruning masks, logits for distillation (notebook 10);
- :mod:`course_utils.deploy`: TFLite/LiteRT, SavedModel and ONNX export, latency and size (notebook 10);
- :mod:`course_utils.serve`: the digit model as an HTTP service, input checks, drift monitor (notebook 10,
  ``make serve``);
- :mod:`course_utils.text`: Chinese reviews, characters as tokens, a Transformer encoder, a tiny GPT (notebook 11);
- :mod:`course_utils.recsys`: MovieLens, leave-one-out splits, candidate sampling, HR/NDCG at k (notebook 13);
- :mod:`course_utils.canvas`: digits on cluttered canvases, IoU, mAP, a U-Net and a YOLO-style grid head (notebook 12);
- :mod:`course_utils.audio`: spoken digits synthesised with eSpeak NG, log-mel features, a keyword CNN (notebook 12);
- :mod:`course_utils.costs`: training compute, time, money, memory and serving cost; the scaling laws (notebook 14);
- :mod:`course_utils.glossary`: links to the bilingual glossary (notebook 14);
- :mod:`course_utils.bench`: ``make bench``, the recipes measured side by side (tables: ``bench_report``).

Each helper's docstring names the notebook that teaches it.

Importing the package quiets TensorFlow's C++ log lines (``TF_CPP_MIN_LOG_LEVEL=3`` unless you
set it yourself), because notebooks import it before TensorFlow and the tests compare outputs.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
