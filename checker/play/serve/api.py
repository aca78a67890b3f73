"""The OpenAI-compatible routes, on starlette. Every bad request gets OpenAI's error object
({"error": {"message", "type", "param", "code"}}) with its status, never a traceback."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from checker.play.serve.engine import END, Engine, Job

MOST_TOKENS = 4096  # max_tokens' upper bound (the context is checked too)


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message, "type": self.kind,
                                       "param": self.param, "code": self.code}}, status_code=self.status)


@dataclass
class Served:
    """What the routes need: the engine, the tokenizer, the model's name and context length, and
    chooser(temperature, top_p, seed) -> a token chooser (None: greedy)."""
    engine: Engine
    tokenizer: object
    model_name: str
    context: int
    chooser: object


# ---- reading a request -------------------------------------------------------------------------

async def _body(request: Request) -> dict:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "We could not parse the JSON body of your request.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def _number(body: dict, name: str, kind, low, high, default):
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kind if kind is int else (int, float)):
        raise ApiError(400, f"'{name}' must be {'an integer' if kind is int else 'a number'}.",
                       param=name, code="invalid_type")
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}; got {value}.", param=name,
                       code="invalid_value")
    return value


def _stops(body: dict) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
        raise ApiError(400, "'stop' must be a string or a list of up to 4 strings.", param="stop",
                       code="invalid_value")
    return stops


def _settings(body: dict, served: Served) -> dict:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", param="model", code="missing_required_parameter")
    if model != served.model_name:
        raise ApiError(404, f"The model '{model}' does not exist. This server runs '{served.model_name}'.",
                       param="model", code="model_not_found")
    if body.get("n", 1) != 1:
        raise ApiError(400, "Only n=1 is supported: one choice per request.", param="n", code="invalid_value")
    # Not given: OpenAI's 16 for completions; for chat, up to 256 as the context allows (_encode).
    return {"max_tokens": _number(body, "max_tokens", int, 1, MOST_TOKENS, None),
            "default_tokens": 16 if "messages" not in body else 256,
            "temperature": _number(body, "temperature", float, 0, 2, 1.0),
            "top_p": _number(body, "top_p", float, 0, 1, 1.0),
            "seed": _number(body, "seed", int, -2**63, 2**63 - 1, None),
            "stop": _stops(body), "stream": bool(body.get("stream", False))}


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages",
                       code="missing_required_parameter")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages):
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects with "
                            "string content.", param="messages", code="invalid_value")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _prompt(body: dict) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise ApiError(400, "Missing required parameter: 'prompt'.", param="prompt",
                       code="missing_required_parameter")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be a string (one prompt per request here).",
                       param="prompt", code="invalid_value")
    return prompt


# ---- running one request -----------------------------------------------------------------------

class Stream:
    """One request's tokens as text: what is new since last time, cut at a stop string. Text that
    may be the start of a stop string is held back until it is known not to be one."""

    def __init__(self, tokenizer, stops: list[str], eos: int | None):
        self.tokenizer, self.stops, self.eos = tokenizer, stops, eos
        self.ids, self.text, self.shown, self.finish, self.count = [], "", "", None, 0

    def add(self, token: int) -> str:
        self.count += 1
        if token == self.eos:
            self.finish = "stop"
            return self.flush()
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half a UTF-8 character: wait for the rest
            return ""
        cuts = [at for at in (text.find(stop) for stop in self.stops) if at >= 0]
        if cuts:
            self.text, self.finish = text[:min(cuts)], "stop"
            return self.flush()
        self.text = text
        held = max([k for stop in self.stops for k in range(1, len(stop)) if text.endswith(stop[:k])],
                   default=0)
        safe = text[:len(text) - held]
        new, self.shown = safe[len(self.shown):], safe
        return new

    def flush(self) -> str:
        """The rest of the text (at the end: nothing is held back any more)."""
        new, self.shown = self.text[len(self.shown):], self.text
        return new


async def _tokens(served: Served, prompt: list[int], settings: dict):
    """The request's tokens as they come (an async iterator); the slot is freed if it stops early."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()
    job = Job(prompt, settings["max_tokens"],
              served.chooser(settings["temperature"], settings["top_p"], settings["seed"]),
              lambda item: loop.call_soon_threadsafe(inbox.put_nowait, item))
    served.engine.submit(job)
    done = False
    try:
        while True:
            item = await inbox.get()
            if item is END:
                done = True
                return
            if isinstance(item, Exception):
                done = True
                raise ApiError(500, f"Your code failed while generating: {item}", kind="server_error",
                               code="learner_code_failed")
            yield item
    finally:
        if not done:  # a stop string, or the client went away: its slot goes to the next request
            served.engine.cancel(job.id)


def _encode(served: Served, text: str, settings: dict) -> list[int]:
    ids = served.tokenizer.encode(text)
    if settings["max_tokens"] is None:
        settings["max_tokens"] = max(1, min(settings["default_tokens"], served.context - len(ids)))
    if len(ids) + settings["max_tokens"] > served.context:
        raise ApiError(400, f"This model's maximum context length is {served.context} tokens. "
                            f"However, you requested {len(ids) + settings['max_tokens']} tokens "
                            f"({len(ids)} in the messages, {settings['max_tokens']} in the "
                            "completion). Please reduce the length of the messages or completion.",
                       param="messages", code="context_length_exceeded")
    return ids


def _chunk(kind: str, rid: str, served: Served, created: int, text: str | None, finish, first=False) -> dict:
    if kind == "chat":
        delta = {} if text is None else ({"role": "assistant", "content": text} if first else {"content": text})
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": rid, "object": "chat.completion.chunk", "created": created,
                "model": served.model_name, "choices": [choice]}
    return {"id": rid, "object": "text_completion", "created": created, "model": served.model_name,
            "choices": [{"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}]}


async def _complete(served: Served, kind: str, ids: list[int], settings: dict):
    rid = ("chatcmpl-" if kind == "chat" else "cmpl-") + f"{time.time_ns():x}"
    created = int(time.time())
    stream = Stream(served.tokenizer, settings["stop"], served.engine.eos)
    tokens = _tokens(served, ids, settings)

    def usage() -> dict:
        return {"prompt_tokens": len(ids), "completion_tokens": stream.count,
                "total_tokens": len(ids) + stream.count}

    if not settings["stream"]:
        async for token in tokens:
            stream.add(token)
            if stream.finish:
                break
        await tokens.aclose()
        stream.flush()
        finish = stream.finish or "length"
        if kind == "chat":
            choice = {"index": 0, "message": {"role": "assistant", "content": stream.shown},
                      "finish_reason": finish, "logprobs": None}
            body = {"id": rid, "object": "chat.completion", "created": created,
                    "model": served.model_name, "choices": [choice], "usage": usage()}
        else:
            body = {"id": rid, "object": "text_completion", "created": created,
                    "model": served.model_name, "usage": usage(),
                    "choices": [{"index": 0, "text": stream.shown, "finish_reason": finish, "logprobs": None}]}
        return JSONResponse(body)

    async def events():
        try:
            if kind == "chat":
                yield _sse(_chunk(kind, rid, served, created, "", None, first=True))
            async for token in tokens:
                new = stream.add(token)
                if new:
                    yield _sse(_chunk(kind, rid, served, created, new, None))
                if stream.finish:
                    break
            rest = stream.flush()
            if rest:
                yield _sse(_chunk(kind, rid, served, created, rest, None))
            yield _sse(_chunk(kind, rid, served, created, None, stream.finish or "length"))
            yield "data: [DONE]\n\n"
        except ApiError as exc:
            yield _sse({"error": {"message": exc.message, "type": exc.kind, "param": None, "code": exc.code}})
        finally:
            await tokens.aclose()  # a client gone mid-stream lands here too: its slot is freed

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data)}\n\n"


# ---- the routes --------------------------------------------------------------------------------

def make_app(served: Served) -> Starlette:
    async def models(request: Request):
        return JSONResponse({"object": "list", "data": [
            {"id": served.model_name, "object": "model", "created": 0, "owned_by": "you"}]})

    async def chat(request: Request):
        body = await _body(request)
        settings = _settings(body, served)
        messages = _messages(body)
        text = served.tokenizer.apply_chat_template(messages, add_generation_prompt=True)
        return await _complete(served, "chat", _encode(served, text, settings), settings)

    async def completions(request: Request):
        body = await _body(request)
        settings = _settings(body, served)
        return await _complete(served, "text", _encode(served, _prompt(body), settings), settings)

    async def api_error(request: Request, exc: ApiError):
        return exc.response()

    async def not_found(request: Request, exc):
        status = getattr(exc, "status_code", 404)
        return ApiError(status, f"Invalid URL ({request.method} {request.url.path})",
                        code="not_found" if status == 404 else "method_not_allowed").response()

    async def unexpected(request: Request, exc: Exception):
        return ApiError(500, f"The server failed on this request: {type(exc).__name__}: {exc}",
                        kind="server_error", code="internal_error").response()

    return Starlette(routes=[Route("/v1/models", models, methods=["GET"]),
                             Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/completions", completions, methods=["POST"])],
                     exception_handlers={ApiError: api_error, HTTPException: not_found,
                                         Exception: unexpected})
