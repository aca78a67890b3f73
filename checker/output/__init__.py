"""What a check or a learner's progress looks like: terminal, Exercism JSON, JUnit, progress JSON."""
