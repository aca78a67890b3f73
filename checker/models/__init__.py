"""Numpy references per model family, and (maintainers only) the Hugging Face code they are proven against."""
