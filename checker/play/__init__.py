"""The learner's model at work: `kata run`, `kata chat`, `kata setup`, the compiled decoder."""
