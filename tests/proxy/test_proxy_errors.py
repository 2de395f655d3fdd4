"""Bad input and upstream failures answer in OpenAI's error shape, with the right status."""

from __future__ import annotations

import httpx
import openai
import pytest

USER = [{"role": "user", "content": "hi"}]


def post(proxy, content: bytes | str, **headers: str) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/chat/completions", content=content,
                      headers={"content-type": "application/json", **headers})


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


def test_invalid_json_is_a_400(proxy):
    error = assert_openai_error(post(proxy, b'{"model": "echo", '), 400)
    assert "not valid JSON" in error["message"]


def test_a_body_that_is_not_an_object_is_a_400(proxy):
    assert_openai_error(post(proxy, b"[1, 2]"), 400)


@pytest.mark.parametrize("missing", ["model", "messages"])
def test_a_missing_required_field_names_it(proxy, missing):
    body = {"model": "echo", "messages": USER}
    del body[missing]
    error = assert_openai_error(httpx.post(f"{proxy.url}/v1/chat/completions", json=body), 400)
    assert error["param"] == missing and missing in error["message"]


def test_malformed_messages_are_a_400(proxy):
    error = assert_openai_error(httpx.post(f"{proxy.url}/v1/chat/completions",
                                           json={"model": "echo", "messages": ["hi"]}), 400)
    assert error["param"] == "messages[0]"


def test_an_unknown_model_is_a_404_listing_the_known_ones(proxy):
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.openai().chat.completions.create(model="gpt-9", messages=USER)
    error = caught.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "gpt-9" in error["message"] and "echo" in error["message"]
    assert proxy.upstream.requests == []


def test_an_oversized_body_is_a_413(start_proxy):
    proxy = start_proxy(server={"max_body_bytes": 2048})
    big = [{"role": "user", "content": "x" * 5000}]
    error = assert_openai_error(httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "echo", "messages": big}), 413)
    assert "2048" in error["message"]


def test_an_oversized_chunked_body_is_a_413_too(start_proxy):
    proxy = start_proxy(server={"max_body_bytes": 2048})

    def chunks():
        yield b'{"model": "echo", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    response = httpx.post(f"{proxy.url}/v1/chat/completions", content=chunks())
    assert_openai_error(response, 413)


def test_a_bad_memory_control_is_a_400(proxy):
    response = httpx.post(f"{proxy.url}/v1/chat/completions",
                          json={"model": "echo", "messages": USER, "memory": {"limit": "lots"}})
    assert assert_openai_error(response, 400)["param"] == "memory.limit"


@pytest.mark.parametrize(
    ("model", "status", "sdk_error"),
    [
        ("fail-400", 400, openai.BadRequestError),
        ("fail-401", 401, openai.AuthenticationError),
        ("fail-404", 404, openai.NotFoundError),
        ("fail-429", 429, openai.RateLimitError),
        ("fail-500", 500, openai.InternalServerError),
        ("fail-502", 502, openai.InternalServerError),
        ("fail-503", 503, openai.InternalServerError),
        ("fail-504", 504, openai.InternalServerError),
    ],
)
def test_upstream_errors_keep_their_status_and_message(proxy, model, status, sdk_error):
    with pytest.raises(sdk_error) as caught:
        proxy.openai().chat.completions.create(model=model, messages=USER)
    assert caught.value.status_code == status
    assert caught.value.body["message"] == f"fake upstream error {status}"


def test_a_rate_limit_passes_retry_after_on(proxy):
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "fail-429", "messages": USER})
    error = assert_openai_error(response, 429)
    assert response.headers["retry-after"] == "7"
    assert error["code"] == "rate_limit_exceeded"


def test_an_upstream_timeout_is_a_timeout_status(proxy):
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "slow-3000", "messages": USER})
    error = assert_openai_error(response, response.status_code)
    assert response.status_code in (408, 504)
    assert error["type"] == "timeout"


def test_an_unreachable_upstream_is_a_502(start_proxy, tmp_path):
    proxy = start_proxy(models=[{"name": "down", "model": "openai/down", "api_base": "http://127.0.0.1:9/v1",
                                 "api_key": "x"}])
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "down", "messages": USER})
    assert_openai_error(response, 502)


def test_a_failed_answer_is_not_remembered(proxy):
    httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "fail-500", "messages": USER, "user": "u1"})
    proxy.settle()
    assert proxy.memory.adds == []


def test_unknown_routes_answer_in_the_same_shape(proxy):
    error = assert_openai_error(httpx.get(f"{proxy.url}/v1/nothing"), 404)
    assert "/v1/nothing" in error["message"]


def test_a_wrong_method_is_a_405(proxy):
    assert_openai_error(httpx.get(f"{proxy.url}/v1/chat/completions"), 405)


def test_a_failing_model_falls_back_to_the_configured_one(start_proxy):
    proxy = start_proxy(router={"fallbacks": {"fail-500": ["echo"]}})
    answer = proxy.openai().chat.completions.create(model="fail-500", messages=USER)
    assert answer.choices[0].message.content == "echo: hi"
    assert [r["model"] for r in proxy.upstream.requests] == ["fail-500", "echo"]


def test_a_failing_call_is_retried(start_proxy):
    proxy = start_proxy(router={"num_retries": 2})
    with pytest.raises(openai.InternalServerError):
        proxy.openai().chat.completions.create(model="fail-503", messages=USER)
    assert [r["model"] for r in proxy.upstream.requests] == ["fail-503"] * 3


@pytest.mark.parametrize("model", ["fail-401", "fail-400"])
def test_errors_no_retry_can_fix_are_answered_after_one_attempt(start_proxy, model):
    proxy = start_proxy(router={"num_retries": 2})
    with pytest.raises(openai.APIStatusError):
        proxy.openai().chat.completions.create(model=model, messages=USER)
    assert [r["model"] for r in proxy.upstream.requests] == [model]


def test_a_model_without_a_key_is_a_503_that_says_what_to_set_and_reaches_no_upstream(start_proxy, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    proxy = start_proxy(models=[{"name": "keyless", "model": "openai/gpt-4o-mini"},
                                {"name": "echo", "model": "openai/echo", "api_base": "http://127.0.0.1:9/v1",
                                 "api_key": "sk-test"}])
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "keyless", "messages": USER})
    error = assert_openai_error(response, 503)
    assert error["code"] == "model_not_configured" and error["param"] == "model"
    assert "OPENAI_API_KEY" in error["message"] and "echo" in error["message"]  # what can answer instead
    assert response.headers["x-should-retry"] == "false"  # OpenAI SDKs give up at once


@pytest.mark.parametrize("stream", ["false", "true", 1, None])
def test_a_stream_flag_that_is_not_a_boolean_is_a_400(proxy, stream):
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "echo", "messages": USER, "stream": stream})
    if stream is None:  # JSON null: OpenAI's default, not streamed
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        return
    error = assert_openai_error(response, 400)
    assert error["param"] == "stream"
    assert proxy.upstream.requests == []


def test_an_upstream_answer_that_is_not_json_is_a_502(proxy):
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "not-json", "messages": USER})
    error = assert_openai_error(response, 502)
    assert "invalid response" in error["message"]


def test_a_wrong_method_on_the_chat_route_is_a_405_in_openais_shape_with_allow(proxy):
    response = httpx.get(f"{proxy.url}/v1/chat/completions")
    error = assert_openai_error(response, 405)
    assert error["code"] == "method_not_allowed" and response.headers["allow"] == "POST"


def test_a_wrong_method_on_a_static_file_is_a_405_naming_the_methods_it_has(proxy):
    response = httpx.post(f"{proxy.url}/static/app.js")
    assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
