"""Inside the learner's process: the pytest plugin, the hidden tests' kit, the learner import, MAX's hooks."""
