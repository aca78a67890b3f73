"""SmolLM2's tokenizer and chat template, read from the GGUF file's own metadata.

The BPE itself is Hugging Face's `tokenizers` library (Rust), set up the way transformers sets
it up for a GGUF whose tokenizer.ggml.model is "gpt2": byte-level BPE from the file's tokens and
merges, GPT-2's byte-level pre-tokenizer (no prefix space) and decoder, the file's control
tokens as special tokens, nothing added around the text (SmolLM2 adds no BOS). The chat template
is the file's own Jinja text, rendered with jinja2 in a sandbox as transformers does.
tests/test_llama_tokenizer.py proves the ids equal transformers' tokenizer for the same file.
"""

from __future__ import annotations

from pathlib import Path

from checker.models.smollm2 import read_gguf_header

_CONTROL, _USER_DEFINED = 3, 4  # llama.cpp's token types (tokenizer.ggml.token_type)
_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")


class GGUFTokenizer:
    def __init__(self, tokenizer, chat_template: str | None, bos_token_id: int | None, eos_token_id: int | None):
        self.tokenizer = tokenizer  # a tokenizers.Tokenizer
        self.chat_template = chat_template
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self._template = None

    @property
    def bos_token(self) -> str | None:
        return None if self.bos_token_id is None else self.tokenizer.id_to_token(self.bos_token_id)

    @property
    def eos_token(self) -> str | None:
        return None if self.eos_token_id is None else self.tokenizer.id_to_token(self.eos_token_id)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_gguf(cls, path) -> "GGUFTokenizer":
        header = read_gguf_header(Path(path), arrays=_ARRAYS)
        meta = header.fields
        kind = meta.get("tokenizer.ggml.model")
        if kind != "gpt2":
            raise ValueError(f"{path}: tokenizer.ggml.model is {kind!r}; only byte-level BPE ('gpt2') is read")
        return cls(_build(meta), meta.get("tokenizer.chat_template"),
                   meta.get("tokenizer.ggml.bos_token_id"), meta.get("tokenizer.ggml.eos_token_id"))

    def encode(self, text: str) -> list[int]:
        """Token ids of text; special tokens written in the text (<|im_start|>) become their ids."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for a conversation, [{"role": ..., "content": ...}, ...]."""
        if not self.chat_template:
            raise ValueError("this GGUF file has no tokenizer.chat_template")
        if self._template is None:
            self._template = _environment().from_string(self.chat_template)
        return self._template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                     bos_token=self.bos_token or "", eos_token=self.eos_token or "")


def _build(meta: dict):
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE

    tokens = meta["tokenizer.ggml.tokens"]
    types = meta.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    vocab = {token: i for i, token in enumerate(tokens)}
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="",
                        end_of_word_suffix="", fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    # Control tokens (<|im_start|>, <|im_end|>, ...) are matched whole in the text, as special.
    specials = [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == _CONTROL]
    users = [AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, types) if k == _USER_DEFINED]
    tok.add_special_tokens(specials)
    if users:
        tok.add_tokens(users)
    return tok


def _environment():
    """transformers' chat-template environment: sandboxed, trimmed blocks, loop controls, and
    the helpers templates call (raise_exception, tojson, strftime_now)."""
    import json
    from datetime import datetime

    from jinja2.exceptions import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    return env
