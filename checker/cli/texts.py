"""What `kata` tells the learner at the milestones of the course (after a pass, after `kata run`)."""

# The course's fixtures are a tiny GPT-2 with random weights: right code, random words.
RANDOM_WEIGHTS = (
    "{text} came from the course's tiny GPT-2, whose weights are random "
    "numbers (made for checking, not for writing), so its words are random too. What counts is "
    "that your model computes GPT-2's numbers, token for token.")
NEXT = (
    "Next: Part 2 builds a modern LLM the same way and ends with a real pretrained model, "
    "SmolLM2-135M-Instruct, running on your own code. Real GPT-2 weights, where they are already "
    "on this machine (a Hugging Face cache, or a folder in its layout): `pip install -e "
    "\".[maintainer]\"`, `kata dev fixtures --model gpt2 --out real-fixtures/`, then `kata run "
    "--fixtures real-fixtures/ \"Hello\"`.")
CHAT = ("Your own Llama now runs SmolLM2-135M-Instruct's real weights: talk to it with `kata chat`, "
        "or ask it one thing: `kata chat \"What is the capital of France?\"`.")
SAMPLER = ("`kata chat` now draws each token with your own sample_next_token: try `kata chat "
           "--temperature 0.8 --top-p 0.9 --repetition-penalty 1.2 \"Tell me a story\"`.")
SPECULATIVE = ("`kata chat --speculative prompt-lookup` (or `early-exit`) now decodes with your own "
               "speculative decoding, the same tokens as without it, and says its acceptance rate: try "
               "`kata chat --speculative prompt-lookup \"Repeat exactly: the quick brown fox jumps over "
               "the lazy dog.\"`.")
CHAT_CACHED = ("`kata chat` now runs your model with your own KV cache: after the question, each new "
               "token alone goes through the model. Try `kata chat \"What is the capital of France?\"`.")
