"""The `kata` checker: runs each kata's hidden tests against golden tensors from Hugging Face."""

__version__ = "0.1.0"
