"""SmolLM2's tokenizer read from the GGUF (checker/models/llama_tokenizer.py) gives the same ids
and chat prompt as transformers' own tokenizer for the same file, and decodes back to the text."""

from __future__ import annotations

import pytest

from checker.models.llama_tokenizer import GGUFTokenizer
from checker.models.smollm2 import ensure_gguf

TEXTS = [
    "Hello world!",
    "What is the capital of France?",
    "",
    " ",
    "   leading spaces, trailing   ",
    "tabs\tand\t\tnewlines\n\n\nand\r\nCRLF\n",
    "naïve café, Zürich, Ελληνικά, русский, 日本語のテキスト, 中文, עברית, العربية",
    "emoji 🙂🚀👩‍👩‍👧‍👦 and flags 🇫🇷 and ❤️",
    "numbers 2024, 3.14159, 1,000,000 and 12345678901234567890",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n",
    "    if (a && b) { x += y; } // C-like\n\tfor i in range(10): pass",
    "I'm sure you're right, they'll see we've done it, he'd say I've it's",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "text around <|endoftext|> a special token, and <|im_end|>",
    "a <not special> look-alike <|im_star|>",
    "\u00a0non-breaking\u2009thin space\u200bzero width",
    "MiXeD CaSe AND ALL CAPS and all lower",
    "URL https://example.com/path?q=1&r=two#frag and e-mail a.b@c.org",
    "a" * 300,
    "  \n  \n\n   \t ",
]

CONVERSATIONS = [
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "What is the capital of France?"}],  # the template's default system turn
    [{"role": "system", "content": "Réponds en français 🙂"},
     {"role": "user", "content": "Bonjour !\nÇa va ?"},
     {"role": "assistant", "content": "Oui, merci."},
     {"role": "user", "content": "def f():\n    pass"}],
]


@pytest.fixture(scope="module")
def gguf():
    return ensure_gguf(echo=lambda _: None)


@pytest.fixture(scope="module")
def ours(gguf):
    return GGUFTokenizer.from_gguf(gguf)


@pytest.fixture(scope="module")
def theirs(gguf):
    pytest.importorskip("transformers", reason="the comparison needs the maintainer extra")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


@pytest.mark.parametrize("text", TEXTS)
def test_ids_equal_transformers(ours, theirs, text):
    assert ours.encode(text) == theirs.encode(text, add_special_tokens=True)


@pytest.mark.parametrize("text", TEXTS)
def test_decode_round_trips(ours, theirs, text):
    ids = ours.encode(text)
    assert ours.decode(ids) == text
    assert ours.decode(ids) == theirs.decode(ids)


@pytest.mark.parametrize("messages", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_chat_template_equals_transformers(ours, theirs, messages, add_generation_prompt):
    text = ours.apply_chat_template(messages, add_generation_prompt=add_generation_prompt)
    assert text == theirs.apply_chat_template(messages, tokenize=False,
                                              add_generation_prompt=add_generation_prompt)
    assert ours.encode(text) == theirs.encode(text, add_special_tokens=True)


def test_the_chat_prompt_is_what_smollm2_expects(ours):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = ours.apply_chat_template(messages)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    ids = ours.encode(text)
    assert ids[0] == ours.bos_token_id == 1  # <|im_start|> is one token, not its characters
    assert ids.count(ours.eos_token_id) == 2


def test_special_tokens(ours, theirs):
    assert (ours.bos_token_id, ours.eos_token_id, ours.eos_token) == (1, 2, "<|im_end|>")
    assert (ours.bos_token_id, ours.eos_token_id) == (theirs.bos_token_id, theirs.eos_token_id)
    assert ours.eos_token == theirs.eos_token
    assert ours.vocab_size == 49152
    assert ours.decode([1, 2], skip_special_tokens=True) == ""


def test_whole_vocabulary_decodes_like_transformers(ours, theirs):
    """Every single token decodes the same (byte-level pieces, special tokens)."""
    ids = list(range(0, 49152, 7)) + list(range(17))
    assert [ours.decode([i]) for i in ids] == [theirs.decode([i]) for i in ids]


def test_not_a_bpe_file_is_refused(tmp_path):
    from checker.models.smollm2 import GGUFFormatError

    bogus = tmp_path / "x.gguf"
    bogus.write_bytes(b"not a gguf at all")
    with pytest.raises(GGUFFormatError):
        GGUFTokenizer.from_gguf(bogus)
