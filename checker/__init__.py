"""The `kata` checker: runs each kata's hidden tests against golden tensors from Hugging Face GPT-2."""

__version__ = "0.1.0"
