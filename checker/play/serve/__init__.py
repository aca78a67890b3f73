"""`kata serve`: an OpenAI-compatible HTTP server running the learner's own katas.

engine.py  one thread owns the learner's Scheduler (kata 24) and steps it; requests come and go
           through thread-safe queues, tokens go back to each request's asyncio queue
api.py     the starlette app: /v1/models, /v1/chat/completions, /v1/completions in OpenAI's
           shapes, streamed (server-sent events) or not; bad input gets OpenAI's error object
child.py   `python -m checker.play.serve.child`: loads the learner's model and runs uvicorn
"""
