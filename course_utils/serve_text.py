"""The service's text-generation route, ``POST /generate``: its request, its limits and its checks.

Taught in notebook 11b (generate and ship it). This module is infrastructure and knows nothing of a
particular model: a :class:`TextGenerator` is text in, token ids, a sampler, text out.
:func:`course_utils.topics.language_model.text_generator` makes one from notebook 11b's GPT and its
tokenizer; ``course_utils.serve.create_app(predictor, generator=...)`` serves it beside the digit
routes, and ``python -m course_utils.topics.language_model.serve --key KEY`` does both for a cached model.

``POST /generate``
    JSON ``{"prompt": "...", "max_tokens": 32, "temperature": 0.8, "top_k": null, "top_p": null,
    "seed": 0}`` (only ``prompt`` is required). Answers ``{"model", "prompt", "text", "tokens",
    "prompt_tokens", "truncated"}``: ``text`` is the continuation alone (the prompt is not repeated),
    ``tokens`` how many tokens were sampled (the generator may stop early, at an end-of-line token,
    which is counted), ``prompt_tokens`` how many prompt tokens the model was fed. The same request
    with the same ``seed`` gives the same text; ``temperature`` 0 is greedy decoding.

Limits. ``prompt``: 1 to :data:`MAX_PROMPT_CHARS` characters, not only whitespace. ``max_tokens``: 1 to
:data:`MAX_NEW_TOKENS`, and less than the model's context (at least one prompt token must fit).
``temperature`` in [0, :data:`MAX_TEMPERATURE`], ``top_k`` >= 1, ``top_p`` in (0, 1], ``seed`` in
[0, 2**32). **A prompt too long for the context is cut from the left**: when its tokens plus
``max_tokens`` exceed the context, only its last ``context - max_tokens`` tokens are fed and the
answer says ``"truncated": true`` (the most recent text is what a continuation depends on most).

Every bad request gets a 4xx whose ``detail`` is one string saying what was wrong and what to send,
as on the digit routes: no generator behind the service (404), an empty body or one that is not JSON
(400), a body over :data:`MAX_GENERATE_BODY_BYTES` (413), a JSON value that is not an object, a
missing or unknown key, a wrong type (strict: ``"ten"``, ``10.0`` or ``true`` is not a token count, a
number is not a prompt), a value outside its limits (422). The server keeps serving after each.
Parsing, checking and generating run in a worker thread; generations are serialised with a lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Longest prompt accepted, in characters.
MAX_PROMPT_CHARS = 200
#: Most tokens one request may ask for (and less than the model's context).
MAX_NEW_TOKENS = 64
DEFAULT_MAX_TOKENS = 32
MAX_TEMPERATURE = 10.0
#: Largest body ``/generate`` reads: a 200-character prompt and its options fit in far less.
MAX_GENERATE_BODY_BYTES = 16 * 1024
EXAMPLE = '{"prompt": "今天天气", "max_tokens": 20}'
NO_GENERATOR = (
    "this service runs without a text generator: start it with "
    "`python -m course_utils.topics.language_model.serve --key KEY` (a model cached by notebook 11b), "
    "or pass create_app(..., generator=course_utils.topics.language_model.text_generator(model, tokenizer))"
)


class GenerateRequest(BaseModel):
    """The JSON body of ``POST /generate``, checked strictly (no type coercion, no unknown keys)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1, le=MAX_NEW_TOKENS)
    temperature: float = Field(0.8, ge=0.0, le=MAX_TEMPERATURE, allow_inf_nan=False)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0, allow_inf_nan=False)
    seed: int = Field(0, ge=0, lt=2**32)

    @field_validator("prompt")
    @classmethod
    def _has_text(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("the prompt is only whitespace: send some text to continue")
        return prompt


@dataclass
class TextGenerator:
    """What ``/generate`` serves: a tokenizer's ``encode``/``decode`` and ``generate_fn``, plus the context.

    ``generate_fn(prompt_ids, *, num_tokens, temperature, top_k, top_p, seed)`` returns the new ids
    (at most ``num_tokens``). Calls are serialised with a lock (one model, many worker threads).
    """

    name: str
    context: int
    encode: Callable[[str], Sequence[int]]
    decode: Callable[[Sequence[int]], str]
    generate_fn: Callable[..., Sequence[int]]
    details: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def complete(self, request: GenerateRequest) -> dict[str, Any]:
        """The answer to a checked request; a ``max_tokens`` that leaves no room for the prompt is a 422."""
        if request.max_tokens >= self.context:
            raise HTTPException(
                422,
                f"max_tokens is {request.max_tokens}, but this model's context of {self.context} tokens leaves "
                f"room for at most {self.context - 1} new tokens after the prompt: ask for fewer",
            )
        ids = [int(i) for i in self.encode(request.prompt)]
        room = self.context - request.max_tokens
        fed = ids[-room:]  # cut from the left: the text nearest the continuation is kept
        with self._lock:
            new = [int(i) for i in self.generate_fn(fed, **_sampling(request))]
        return {
            "model": self.name,
            "prompt": request.prompt,
            "text": self.decode(new),
            "tokens": len(new),
            "prompt_tokens": len(fed),
            "truncated": len(fed) < len(ids),
        }


def _sampling(request: GenerateRequest) -> dict[str, Any]:
    return {
        "num_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_k": request.top_k,
        "top_p": request.top_p,
        "seed": request.seed,
    }


def explain(err: ValidationError) -> str:
    """A pydantic error as one sentence per field, naming the field, the rule and the value sent."""
    parts = []
    for error in err.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message += f" (the keys are {', '.join(GenerateRequest.model_fields)})"
        elif error["type"] != "missing":
            message += f", got {json.dumps(error['input'], ensure_ascii=False)[:40]}"
        parts.append(f"{where}: {message}")
    return "; ".join(parts) + f". Send JSON such as {EXAMPLE}"


def parse_generate_request(body: bytes) -> GenerateRequest:
    """A request body as a :class:`GenerateRequest`, or ``HTTPException`` (400 or 422) saying what is wrong."""
    if not body:
        raise HTTPException(400, f"empty body: send JSON such as {EXAMPLE}")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HTTPException(400, f"the body is not valid JSON ({err}): send JSON such as {EXAMPLE}") from None
    if not isinstance(payload, dict):
        raise HTTPException(422, f"expected a JSON object such as {EXAMPLE}, got {type(payload).__name__}")
    try:
        return GenerateRequest.model_validate(payload)
    except ValidationError as err:
        raise HTTPException(422, explain(err)) from None


def add_generate_route(app: Any, generator: TextGenerator | None, *, max_body_bytes: int = MAX_GENERATE_BODY_BYTES):
    """Add ``POST /generate`` to the FastAPI ``app``; without a ``generator`` it answers 404 saying how to add one."""

    def answer(body: bytes) -> dict[str, Any]:  # runs in a worker thread
        assert generator is not None
        return generator.complete(parse_generate_request(body))

    def too_large(size: int) -> HTTPException:
        return HTTPException(
            413,
            f"the body is {size:,} bytes, larger than the {max_body_bytes:,} /generate reads: "
            f"send a prompt of at most {MAX_PROMPT_CHARS} characters",
        )

    schema = {"content": {"application/json": {"schema": GenerateRequest.model_json_schema()}}, "required": True}

    @app.post("/generate", openapi_extra={"requestBody": schema})
    async def generate(request: Request) -> dict[str, Any]:
        if generator is None:
            raise HTTPException(404, NO_GENERATOR)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body_bytes:
            raise too_large(int(length))
        body = await request.body()
        if len(body) > max_body_bytes:
            raise too_large(len(body))
        return await run_in_threadpool(answer, body)
