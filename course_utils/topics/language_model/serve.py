"""Notebook 11b's GPT behind the course's HTTP service: ``POST /generate`` (generate and ship it).

:func:`text_generator` wraps a model and its tokenizer in a :class:`course_utils.serve_text.TextGenerator`
(prompt text -> ids -> :func:`~course_utils.topics.language_model.generate` with the key-value cache ->
text), for ``course_utils.serve.create_app(predictor, generator=...)``. The route's contract, limits
and errors are documented in :mod:`course_utils.serve_text`.

From a shell, serve a model that notebook 11b saved with :func:`save_pretrained`::

    python -m course_utils.topics.language_model.serve --key KEY [--digits model.keras] [--port 8000]

``KEY`` is the name of its folder under :func:`cache_folder` (notebook 11b prints it). It listens on
127.0.0.1 only unless told otherwise; without ``--digits`` the digit routes answer 503.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from course_utils.topics.language_model.adapt import cache_folder, generate, load_pretrained
from course_utils.topics.language_model.model import SubwordTokenizer

if TYPE_CHECKING:
    from course_utils.serve_text import TextGenerator

logger = logging.getLogger("course_utils.topics.language_model.serve")


def text_generator(
    model: keras.Model, tokenizer: SubwordTokenizer, *, name: str | None = None, stop_at_eos: bool = True
) -> TextGenerator:
    """``model`` and ``tokenizer`` as the service's text generator. Taught in notebook 11b.

    Sampling is :func:`generate`'s (temperature, top-k, top-p, a seed, the key-value cache); with
    ``stop_at_eos`` a continuation ends at the first end-of-line token, which ``tokens`` counts.
    """
    from course_utils.serve_text import TextGenerator

    def generate_ids(prompt_ids: Sequence[int], **sampling: Any) -> list[int]:
        return generate(model, prompt_ids, stop_at_eos=stop_at_eos, **sampling).ids

    return TextGenerator(
        name=name or model.name,
        context=int(model.get_layer("embed").context),
        encode=lambda text: tokenizer.encode(text).tolist(),
        decode=tokenizer.decode,
        generate_fn=generate_ids,
        details={"context": int(model.get_layer("embed").context), "vocab_size": len(tokenizer)},
    )


def _no_digit_model(images: np.ndarray) -> np.ndarray:
    from fastapi import HTTPException

    raise HTTPException(503, "this service runs without a digit model: start it with --digits model.keras")


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.topics.language_model.serve --key KEY``: serve a cached model until Ctrl+C."""
    import uvicorn

    from course_utils import serve

    parser = argparse.ArgumentParser(prog="python -m course_utils.topics.language_model.serve")
    parser.add_argument("--key", required=True, help=f"a model saved by notebook 11b, a folder in {cache_folder()}")
    parser.add_argument("--digits", help="a .keras or .tflite digit model to serve beside it (default: none)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pretrained = load_pretrained(args.key)
    if pretrained is None:
        parser.error(f"no model cached under {cache_folder() / args.key}: run notebook 11b first")
    logger.info("%s", pretrained)
    predictor = serve.load_predictor(args.digits) if args.digits else serve.Predictor("none", "-", _no_digit_model)
    app = serve.create_app(predictor, generator=text_generator(pretrained.model, pretrained.tokenizer, name=args.key))
    logger.info("serving POST /generate on http://%s:%d", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", limit_concurrency=serve.MAX_CONCURRENCY)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
