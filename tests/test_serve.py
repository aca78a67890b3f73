"""`kata serve`, driven by the official `openai` client: the learner's own katas (the reference
solutions here) on the course's tiny seeded Llama, in one server process. Concurrent streamed
answers equal each question asked alone; a client that goes away mid-stream frees its slot; bad
input gets OpenAI's error object with the right status; the server answers after each."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import urllib.error
import urllib.request
import openai
import pytest

from checker.errors import EXIT_FAIL, EXIT_LOCKED
from conftest import copy_course, kata_env, run_kata_cli

MODEL = "kata-tiny-llama"
QUESTIONS = ["What is the capital of France?", "Name a colour.", "Count to five.",
             "Why is the sky blue?", "Say hello.", "What is 2 + 2?", "Write a haiku.",
             "Who wrote Hamlet?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`kata serve --tiny --force` on a course whose katas are the reference solutions."""
    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas

    course = copy_course(tmp_path_factory.mktemp("serve") / "course")
    solution_katas(load_curriculum(course), course / "katas")
    port = _free_port()
    log = (course / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "checker.cli", "serve", "--tiny", "--force",
                                "--port", str(port)], cwd=course, env=kata_env(course),
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/models", timeout=2):
                break
        except OSError:
            time.sleep(1)
        assert process.poll() is None, (course / "serve.log").read_text()
    else:
        process.terminate()
        pytest.fail("kata serve did not start: " + (course / "serve.log").read_text())
    yield base
    process.terminate()
    process.wait(timeout=30)


def _client(base: str, timeout: float = 120) -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key="kata", timeout=timeout, max_retries=0)


def _ask(client, question: str, tokens: int = 8) -> str:
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                           max_tokens=tokens, temperature=0)
    return reply.choices[0].message.content


def _stream(client, question: str, tokens: int = 8) -> str:
    chunks = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                            max_tokens=tokens, temperature=0, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)


def test_serve_waits_for_kata_24(course):
    code, out, err = run_kata_cli(course, "serve", "--tiny")
    assert code == EXIT_LOCKED and "Traceback" not in out + err, out + err
    assert "kata check 24" in out + err and "--force" in out + err


def test_a_port_in_use_is_said_in_words(course):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_kata_cli(course, "serve", "--tiny", "--force", "--port", str(port))
    assert code == EXIT_FAIL and "Traceback" not in out + err, out + err
    assert f"Cannot serve on 127.0.0.1:{port}" in out + err and "--port" in out + err


def test_models_lists_the_served_model(server):
    assert [m.id for m in _client(server).models.list().data] == [MODEL]


def test_eight_concurrent_streams_equal_each_question_alone(server):
    client = _client(server)
    alone = [_ask(client, q) for q in QUESTIONS]
    together: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, _stream(client, QUESTIONS[i])))
               for i in range(len(QUESTIONS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert [together.get(i) for i in range(len(QUESTIONS))] == alone
    assert len(set(alone)) > 1  # different questions, different answers


def test_completions_and_sampling_settings(server):
    client = _client(server)
    first, second = (client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6,
                                               temperature=0.9, top_p=0.9, seed=7) for _ in range(2))
    assert first.choices[0].text == second.choices[0].text  # the same seed, the same draw
    assert first.usage.completion_tokens == 6 and first.choices[0].finish_reason == "length"
    greedy = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6, temperature=0)
    stop = greedy.choices[0].text[3:6]
    cut = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6,
                                    temperature=0, stop=[stop])
    assert cut.choices[0].text == greedy.choices[0].text[:greedy.choices[0].text.find(stop)]
    assert cut.choices[0].finish_reason == "stop"
    streamed = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6,
                                         temperature=0, stop=[stop], stream=True)
    assert "".join(c.choices[0].text for c in streamed) == cut.choices[0].text


def test_the_readmes_line_and_openais_defaults(server):
    """The README's call (no temperature: OpenAI's 1, sampled); a completion without max_tokens
    gets OpenAI's 16."""
    client = _client(server)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi!"}],
                                           max_tokens=32, seed=0)  # seeded: the same draw each run
    assert reply.choices[0].message.content and reply.usage.completion_tokens <= 32
    assert client.completions.create(model=MODEL, prompt="Hi", temperature=0).usage.completion_tokens == 16


def test_clients_gone_mid_stream_free_their_slots(server):
    """Eight streams of 200 tokens take all 8 slots; each client reads one chunk and leaves. A
    request after them is answered at once: had the slots stayed taken, it would wait for 200
    steps (minutes), past its timeout."""
    streams = []
    for question in QUESTIONS:
        stream = _client(server).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": question}], max_tokens=200,
            temperature=0, stream=True)
        next(iter(stream))
        streams.append(stream)
    for stream in streams:
        stream.close()
    assert _ask(_client(server, timeout=60), "Say hello.", tokens=4)


def _error(call) -> tuple[int, dict]:
    with pytest.raises(openai.APIStatusError) as raised:
        call()
    return raised.value.status_code, raised.value.body


@pytest.mark.parametrize("case", ["unknown model", "max_tokens 0", "max_tokens too large",
                                  "context too long", "temperature a string"])
def test_bad_input_gets_openais_error_object(server, case):
    client = _client(server)
    args = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    args.update({"unknown model": {"model": "gpt-5"}, "max_tokens 0": {"max_tokens": 0},
                 "max_tokens too large": {"max_tokens": 100000},
                 "context too long": {"messages": [{"role": "user", "content": "word " * 300}]},
                 "temperature a string": {"temperature": "hot"}}[case])
    status, body = _error(lambda: client.chat.completions.create(**args))
    want = {"unknown model": (404, "model_not_found"), "context too long": (400, "context_length_exceeded")}
    assert (status, body["code"]) == want.get(case, (400, body["code"])) and status == want.get(case, (400,))[0]
    assert body["type"] == "invalid_request_error" and body["message"] and "Traceback" not in json.dumps(body)
    assert _ask(client, "Say hello.", tokens=2)  # still serving


@pytest.mark.parametrize("route,body,code", [
    ("/chat/completions", b"{not json", "invalid_json"),
    ("/chat/completions", json.dumps({"model": MODEL}).encode(), "missing_required_parameter"),
    ("/completions", json.dumps({"model": MODEL, "max_tokens": 2}).encode(), "missing_required_parameter"),
    ("/chat/completions", json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode(),
     "missing_required_parameter"),
])
def test_malformed_or_missing_fields(server, route, body, code):
    request = urllib.request.Request(server + route, data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=60)
    assert raised.value.code == 400
    error = json.loads(raised.value.read())["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error"
    assert _ask(_client(server), "Say hello.", tokens=2)
