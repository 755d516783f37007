"""POST /generate (course_utils.serve_text) on a live uvicorn server on loopback, with a tiny random GPT."""

from __future__ import annotations

import json

import httpx
import keras
import numpy as np
import pytest

from course_utils import serve, serve_text
from course_utils.topics import language_model as lm

CONTEXT = 48  # more than the default max_tokens (32), so a prompt-only request fits


def _no_digits(images: np.ndarray) -> np.ndarray:
    return np.full((len(images), 10), 0.1, dtype=np.float32)


@pytest.fixture(scope="module")
def tokenizer() -> lm.SubwordTokenizer:
    return lm.SubwordTokenizer.train(["天气很好", "天气不好"] * 50, vocab_size=12, character_coverage=1.0)


@pytest.fixture(scope="module")
def model(tokenizer: lm.SubwordTokenizer) -> keras.Model:
    keras.utils.set_random_seed(0)
    config = lm.GPTConfig(vocab_size=len(tokenizer), context=CONTEXT, d_model=16, num_heads=2, num_layers=1)
    return lm.build_gpt(config, name="tiny_gpt")


@pytest.fixture(scope="module")
def client(model: keras.Model, tokenizer: lm.SubwordTokenizer):
    generator = lm.text_generator(model, tokenizer, stop_at_eos=False)
    app = serve.create_app(serve.Predictor("digits", "test", _no_digits), generator=generator, docs_assets=None)
    with serve.BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert server.host == "127.0.0.1"
        yield http


def _expected(model, tokenizer, prompt: str, **sampling) -> list[int]:
    return lm.generate(model, tokenizer.encode(prompt), stop_at_eos=False, **sampling).ids


def test_a_prompt_gets_the_models_continuation_and_its_token_count(client, model, tokenizer) -> None:
    answer = client.post("/generate", json={"prompt": "天气", "max_tokens": 7, "temperature": 0.8, "seed": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _expected(model, tokenizer, "天气", num_tokens=7, temperature=0.8, seed=3)
    assert len(expected) == 7
    assert (body["prompt"], body["tokens"], body["prompt_tokens"], body["truncated"]) == ("天气", 7, 1, False)
    assert body["text"] == tokenizer.decode(expected) and body["text"]
    assert body["model"] == "tiny_gpt"


def test_the_same_seed_gives_the_same_text_and_sampling_options_reach_the_model(client, model, tokenizer) -> None:
    request = {"prompt": "天气很", "max_tokens": 12, "temperature": 1.5, "top_k": 5, "top_p": 0.9, "seed": 11}
    first, again = (client.post("/generate", json=request).json() for _ in range(2))
    assert first == again
    options = {"num_tokens": 12, "temperature": 1.5, "top_k": 5, "top_p": 0.9}
    assert first["text"] == tokenizer.decode(_expected(model, tokenizer, "天气很", seed=11, **options))
    texts = {client.post("/generate", json={**request, "seed": seed}).json()["text"] for seed in range(6)}
    assert len(texts) > 1, "the seed is ignored"
    greedy = client.post("/generate", json={"prompt": "天气很", "max_tokens": 5, "temperature": 0}).json()
    assert greedy["text"] == tokenizer.decode(_expected(model, tokenizer, "天气很", num_tokens=5, temperature=0.0))


def test_defaults_apply_when_only_a_prompt_is_sent(client, model, tokenizer) -> None:
    body = client.post("/generate", json={"prompt": "天气"}).json()
    assert body["tokens"] == serve_text.DEFAULT_MAX_TOKENS
    expected = _expected(model, tokenizer, "天气", num_tokens=body["tokens"], temperature=0.8, seed=0)
    assert body["text"] == tokenizer.decode(expected)


def test_a_prompt_too_long_for_the_context_is_cut_from_the_left(client, model, tokenizer) -> None:
    prompt = "天气很好天气不好" * 12  # 96 characters, more tokens than the context holds with 10 new ones
    ids = tokenizer.encode(prompt).tolist()
    assert len(ids) > CONTEXT - 10
    body = client.post("/generate", json={"prompt": prompt, "max_tokens": 10, "seed": 1}).json()
    assert (body["truncated"], body["prompt_tokens"], body["tokens"]) == (True, CONTEXT - 10, 10)
    kept = ids[-(CONTEXT - 10) :]
    expected = lm.generate(model, kept, num_tokens=10, temperature=0.8, seed=1).ids
    assert body["text"] == tokenizer.decode(expected)


def test_health_names_the_generator(client) -> None:
    generator = client.get("/health").json()["generator"]
    assert generator["name"] == "tiny_gpt" and generator["context"] == CONTEXT


LONG = "天" * (serve_text.MAX_PROMPT_CHARS + 1)
BAD = {
    "empty-prompt": ({"prompt": ""}, 422, "prompt: String should have at least 1 character"),
    "whitespace-prompt": ({"prompt": " \n\t "}, 422, "prompt: the prompt is only whitespace"),
    "number-prompt": ({"prompt": 42}, 422, "prompt: Input should be a valid string, got 42"),
    "list-prompt": ({"prompt": ["天气"]}, 422, "prompt: Input should be a valid string"),
    "null-prompt": ({"prompt": None}, 422, "prompt: Input should be a valid string"),
    "no-prompt": ({"max_tokens": 5}, 422, "prompt: Field required"),
    "long-prompt": ({"prompt": LONG}, 422, f"at most {serve_text.MAX_PROMPT_CHARS} characters"),
    "zero-tokens": ({"prompt": "天气", "max_tokens": 0}, 422, "max_tokens: Input should be greater than or equal to 1"),
    "negative-tokens": ({"prompt": "天气", "max_tokens": -5}, 422, "greater than or equal to 1, got -5"),
    "huge-tokens": ({"prompt": "天气", "max_tokens": 10**9}, 422, "less than or equal to 64, got 1000000000"),
    "past-context": ({"prompt": "天气", "max_tokens": CONTEXT}, 422, f"at most {CONTEXT - 1} new tokens"),
    "text-tokens": ({"prompt": "天气", "max_tokens": "ten"}, 422, 'a valid integer, got "ten"'),
    "float-tokens": ({"prompt": "天气", "max_tokens": 10.0}, 422, "max_tokens: Input should be a valid integer"),
    "bool-tokens": ({"prompt": "天气", "max_tokens": True}, 422, "max_tokens: Input should be a valid integer"),
    "negative-temperature": ({"prompt": "天气", "temperature": -0.1}, 422, "temperature: Input should be greater"),
    "text-temperature": ({"prompt": "天气", "temperature": "hot"}, 422, "temperature: Input should be a valid number"),
    "zero-top-p": ({"prompt": "天气", "top_p": 0}, 422, "top_p: Input should be greater than 0"),
    "big-top-p": ({"prompt": "天气", "top_p": 1.5}, 422, "top_p: Input should be less than or equal to 1"),
    "zero-top-k": ({"prompt": "天气", "top_k": 0}, 422, "top_k: Input should be greater than or equal to 1"),
    "negative-seed": ({"prompt": "天气", "seed": -1}, 422, "seed: Input should be greater than or equal to 0"),
    "unknown-key": ({"prompt": "天气", "max_new_tokens": 5}, 422, "max_new_tokens: Extra inputs are not permitted"),
}


@pytest.mark.parametrize(("payload", "status", "says"), list(BAD.values()), ids=list(BAD))
def test_bad_fields_get_a_clear_4xx(client, payload: dict, status: int, says: str) -> None:
    answer = client.post("/generate", json=payload)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and says in detail, detail


RAW = {
    "empty-body": (b"", 400, "empty body"),
    "not-json": (b"prompt=hello", 400, "not valid JSON"),
    "not-utf8": (b'{"prompt": "\xff"}', 400, "not valid JSON"),
    "nan-temperature": (b'{"prompt": "a", "temperature": NaN}', 422, "temperature: Input should be a finite number"),
    "a-list": ('["天气"]'.encode(), 422, "expected a JSON object"),
    "a-string": ('"天气"'.encode(), 422, "expected a JSON object"),
    "oversized": (json.dumps({"prompt": "天" * 20_000}).encode(), 413, "larger than the 16,384"),
}


@pytest.mark.parametrize(("body", "status", "says"), list(RAW.values()), ids=list(RAW))
def test_bad_bodies_get_a_clear_4xx(client, body: bytes, status: int, says: str) -> None:
    answer = client.post("/generate", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"], answer.json()["detail"]


def test_an_oversized_body_without_a_length_is_refused_too(client) -> None:
    big = json.dumps({"prompt": "天" * 20_000}).encode()

    def chunks():  # no Content-Length: httpx sends it chunked
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    answer = client.post("/generate", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]


def test_the_server_still_answers_after_bad_requests(client) -> None:
    for payload, _, _ in BAD.values():
        client.post("/generate", json=payload)
    for body, _, _ in RAW.values():
        client.post("/generate", content=body, headers={"content-type": "application/json"})
    assert client.get("/health").json()["status"] == "ok"
    answer = client.post("/generate", json={"prompt": "天气", "max_tokens": 3})
    assert answer.status_code == 200 and answer.json()["tokens"] == 3


def test_without_a_generator_generate_is_a_404_that_says_how_to_enable_it() -> None:
    app = serve.create_app(serve.Predictor("digits", "test", _no_digits), docs_assets=None)
    with serve.BackgroundServer(app) as server:
        answer = httpx.post(server.url + "/generate", json={"prompt": "天气"}, timeout=10)
        assert answer.status_code == 404
        assert "language_model.serve --key" in answer.json()["detail"]
        assert httpx.get(server.url + "/health", timeout=10).json()["generator"] is None


def test_generate_is_described_in_openapi(client) -> None:
    schema = client.get("/openapi.json").json()["paths"]["/generate"]["post"]["requestBody"]
    properties = schema["content"]["application/json"]["schema"]["properties"]
    assert properties["max_tokens"]["maximum"] == serve_text.MAX_NEW_TOKENS
    assert properties["prompt"]["maxLength"] == serve_text.MAX_PROMPT_CHARS


def test_stop_at_eos_ends_a_continuation_at_the_end_of_a_line(tokenizer, monkeypatch) -> None:
    """The adapter's default: generation stops at the first end-of-line id, which is counted."""
    calls = []

    def fake_generate(model, prompt_ids, **kwargs):
        calls.append(kwargs)
        return lm.Generation([5, lm.EOS_ID], np.zeros((2, 3)), 0.0)

    class Embed:
        context = CONTEXT

    class Model:
        name = "fake"

        def get_layer(self, name):
            return Embed()

    generator = lm.text_generator(Model(), tokenizer)
    monkeypatch.setattr("course_utils.topics.language_model.serve.generate", fake_generate)
    answer = generator.complete(serve_text.GenerateRequest(prompt="天气", max_tokens=4))
    assert calls[0]["stop_at_eos"] is True and calls[0]["num_tokens"] == 4
    assert answer["tokens"] == 2 and answer["text"] == tokenizer.decode([5])
