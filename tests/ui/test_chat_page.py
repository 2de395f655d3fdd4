"""The chat page in a real browser: a person tells it something in one conversation,
sees the memory appear, and sees it used in the next conversation."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from memproxy_stack import Stack, memproxy_stack

STREAMING_WITH_TEXT = """() => {
  const m = document.querySelector('.msg.assistant');
  return m !== null && m.classList.contains('streaming') && m.querySelector('.text').textContent.length > 0;
}"""


def open_page(page: Any, stack: Stack, user: str) -> None:
    page.goto(stack.url + "/")
    page.fill("#user-id", user)
    page.dispatch_event("#user-id", "change")
    page.wait_for_selector("#model option[value=echo]", state="attached")
    page.select_option("#model", "echo")


def send(page: Any, text: str) -> None:
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def last_answer(page: Any) -> Any:
    return page.locator(".msg.assistant").last


def test_page_is_served_with_its_files_and_no_external_resources(stack: Stack) -> None:
    html = httpx.get(stack.url + "/").text
    assert '<meta charset="utf-8">' in html
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    for asset in ("/static/app.js", "/static/style.css"):
        assert httpx.get(stack.url + asset).status_code == 200


def test_a_told_fact_is_remembered_in_the_next_conversation(page: Any, stack: Stack) -> None:
    user = f"ada-{uuid.uuid4().hex[:6]}"
    open_page(page, stack, user)
    fact = "My name is Ada Lovelace, 我叫艾达"

    send(page, fact)
    # The answer is rendered while it streams, not only once it is complete.
    page.wait_for_function(STREAMING_WITH_TEXT)
    answer = last_answer(page)
    answer.locator(".text").filter(has_text=f"echo: {fact}").wait_for()
    expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"))  # the stream's end is seen

    # The background write lands, and the panel (polling after each answer) shows it.
    stored = page.locator("#memory-list .memory .content", has_text=fact)
    stored.wait_for()
    memory_id = page.locator("#memory-list .memory", has_text=fact).get_attribute("data-id")

    page.click("#new-conversation")
    assert page.locator(".msg").count() == 0
    assert stored.count() == 1  # a new conversation keeps the memories

    send(page, "What is my name?")
    answer = last_answer(page)
    answer.locator(".text").filter(has_text="echo: What is my name?").wait_for()
    expect(answer).to_have_attribute("data-memory-ids", re.compile(re.escape(memory_id)))
    used = answer.locator("details.used")
    used.locator("summary").click()
    assert "used for this answer" in used.locator("summary").inner_text()
    used.locator("li", has_text=fact).wait_for()
    # The model was given the fact from the first conversation.
    sent = stack.upstream.requests[-1]["messages"]
    assert any(m["role"] == "system" and fact in m["content"] for m in sent)


def test_memories_are_searched_and_deleted_from_the_panel(page: Any, stack: Stack) -> None:
    user = f"bo-{uuid.uuid4().hex[:6]}"
    for content in ("Bo lives in Lyon", "Bo is allergic to peanuts"):
        httpx.post(stack.url + "/v1/memories", json={"content": content, "userId": user}).raise_for_status()
    open_page(page, stack, user)
    page.locator("#memory-list .memory").nth(1).wait_for()
    assert page.locator("#memory-count").inner_text() == "(2)"

    page.fill("#memory-query", "peanut allergy")
    page.click("#memory-search button[type=submit]")
    page.wait_for_selector("#memory-list .memory .meta >> text=score")
    assert "peanuts" in page.locator("#memory-list .memory .content").first.inner_text()

    page.fill("#memory-query", "")
    page.click("#refresh-memories")
    page.wait_for_selector("#memory-count >> text=(2)")
    page.locator("#memory-list .memory", has_text="Lyon").locator("button.delete").click()
    page.wait_for_selector("#memory-count >> text=(1)")
    assert page.locator("#memory-list .memory", has_text="Lyon").count() == 0
    listed = httpx.get(stack.url + "/v1/memories", params={"userId": user}).json()
    assert [m["content"] for m in listed["items"]] == ["Bo is allergic to peanuts"]


def test_server_errors_are_shown_not_swallowed(page: Any, stack: Stack) -> None:
    open_page(page, stack, "err-user")
    page.select_option("#model", "fail-500")
    send(page, "hello")
    page.wait_for_selector("#error:not([hidden])")
    assert "500" in page.locator("#error-text").inner_text()
    assert "failed" in (last_answer(page).get_attribute("class") or "")
    assert page.input_value("#prompt") == "hello"  # kept, so the person can retry


def test_chinese_text_is_sent_streamed_and_listed_intact(page: Any, stack: Stack) -> None:
    user = f"zh-{uuid.uuid4().hex[:6]}"
    open_page(page, stack, user)
    text = "我叫张三，我不能吃辣。🌶️"
    send(page, text)
    last_answer(page).locator(".text").filter(has_text=f"echo: {text}").wait_for()
    page.locator("#memory-list .memory .content", has_text=text).wait_for()


def test_a_user_id_is_asked_for_before_chatting(page: Any, stack: Stack) -> None:
    page.goto(stack.url + "/")
    page.wait_for_selector("#model option[value=echo]", state="attached")
    page.fill("#user-id", "")
    send(page, "hi")
    page.wait_for_selector("#error:not([hidden])")
    assert "user id" in page.locator("#error-text").inner_text()


@pytest.fixture
def keyless_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    models = [{"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini", "api_key": None,
               "api_base": "https://api.openai.com/v1"}]
    with memproxy_stack(tmp_path, models=models) as running:
        yield running


def test_without_a_provider_key_the_page_says_what_to_configure(page: Any, keyless_stack: Stack) -> None:
    status = httpx.get(keyless_stack.url + "/api/status").json()
    assert status["ready"] is False
    assert status["models"] == [{"id": "gpt-4o-mini", "ready": False, "missing": ["OPENAI_API_KEY"]}]

    page.goto(keyless_stack.url + "/")
    notice = page.locator("#setup")
    notice.wait_for()
    text = notice.inner_text()
    assert "OPENAI_API_KEY" in text and "litellm" in text and ".[local]" in text and "pip install 'memproxy" not in text
