"""Answers streamed through Python: the real engine, a real SQLite database, the real
OpenAI-compatible provider, and a fake model server speaking the chat-completions SSE format."""

import asyncio
import sqlite3
import time

import pytest

import aigis
from conftest import API_KEY, MODEL, Reply

ORDERS_PER_STORE = (
    "```sql\nSELECT s.name AS store, COUNT(*) AS orders\nFROM orders o JOIN stores s ON s.store_id = o.store_id\n"
    "GROUP BY s.name ORDER BY s.name\n```"
)
SUMMARY = "Harbour, Old Town and Riverside each took orders; Old Town took the most."


def shape(events):
    """The event sequence: types, with the stage of status events, consecutive deltas as one."""
    out = []
    for e in events:
        step = f"status:{e['stage']}" if e["type"] == "status" else e["type"]
        if not (step == "delta" and out and out[-1] == "delta"):
            out.append(step)
    return out


def stable(events):
    """Events without the fields that differ between runs (request id, timings)."""
    drop = {"request_id", "elapsed_ms"}
    return [{k: v for k, v in e.items() if k not in drop} for e in events]


ANSWER_SHAPE = [
    "meta", "status:schema", "status:generate", "sql", "guard", "status:execute", "rows",
    "status:summarize", "delta", "status:chart", "chart", "done",
]


def test_stream_yields_the_event_sequence(make_assistant, llm, shop_db):
    llm.script(ORDERS_PER_STORE, SUMMARY)
    assistant = make_assistant()
    events = list(assistant.stream("How many orders did each store take?"))

    assert shape(events) == ANSWER_SHAPE
    by_type = {e["type"]: e for e in events}
    assert by_type["meta"]["dialect"] == "sqlite" and by_type["meta"]["model"] == MODEL
    assert by_type["sql"]["attempt"] == 1 and "GROUP BY s.name" in by_type["sql"]["sql"]
    guard = by_type["guard"]
    assert guard["allowed"] is True and guard["violations"] == []
    assert guard["sql"] == aigis.guard(by_type["sql"]["sql"], dialect="sqlite").sql

    # The rows are what the real database returns for the guarded SQL.
    expected = sqlite3.connect(shop_db).execute(guard["sql"]).fetchall()
    rows = by_type["rows"]
    assert rows["columns"] == ["store", "orders"]
    assert [tuple(r) for r in rows["rows"]] == expected
    assert rows["row_count"] == len(expected) == 3 and rows["truncated"] is False

    done = by_type["done"]
    assert "".join(e["text"] for e in events if e["type"] == "delta") == SUMMARY == done["answer"]
    assert done["sql"] == guard["sql"] and done["row_count"] == 3
    assert done["usage"] == {"prompt_tokens": 22, "completion_tokens": 14}
    assert by_type["chart"]["spec"]["mark"]["type"] == "bar"

    # Two streamed chat-completions calls, authenticated, with the real schema in the prompt.
    assert len(llm.requests) == 2
    assert all(r["stream"] is True and r["model"] == MODEL for r in llm.requests)
    assert all(h.get("authorization") == f"Bearer {API_KEY}" for h in llm.headers)
    prompt = " ".join(m["content"] for m in llm.requests[0]["messages"])
    assert "order_items" in prompt and "How many orders did each store take?" in prompt


def test_ask_and_astream_match_stream(make_assistant, llm):
    assistant = make_assistant()
    llm.script(ORDERS_PER_STORE, SUMMARY)
    streamed = list(assistant.stream("orders per store?"))

    llm.script(ORDERS_PER_STORE, SUMMARY)
    answer = assistant.ask("orders per store?")
    assert stable(answer.events) == stable(streamed)
    assert answer.answer == SUMMARY and answer.row_count == 3
    assert answer.columns == ["store", "orders"] and len(answer.rows) == 3
    assert answer.sql == streamed[-1]["sql"] and answer.model == MODEL
    assert answer.usage == {"prompt_tokens": 22, "completion_tokens": 14}
    assert answer.chart["mark"]["type"] == "bar"
    assert answer.to_dict()["answer"] == SUMMARY

    async def collect():
        return [e async for e in assistant.astream("orders per store?")]

    llm.script(ORDERS_PER_STORE, SUMMARY)
    assert stable(asyncio.run(collect())) == stable(streamed)

    async def aask():
        return await assistant.aask("orders per store?")

    llm.script(ORDERS_PER_STORE, SUMMARY)
    assert stable(asyncio.run(aask()).events) == stable(streamed)


def test_dml_reply_is_rejected_and_ends_in_error(make_assistant, llm, shop_db):
    llm.script("DELETE FROM orders", "```sql\nDELETE FROM orders;\n```", "DROP TABLE orders")
    assistant = make_assistant(max_repairs=2)
    events = list(assistant.stream("Remove all orders"))

    assert shape(events) == [
        "meta", "status:schema", "status:generate", "sql", "guard",
        "status:repair", "sql", "guard", "status:repair", "sql", "guard", "error",
    ]
    assert [e["attempt"] for e in events if e["type"] == "sql"] == [1, 2, 3]
    for g in (e for e in events if e["type"] == "guard"):
        assert g["allowed"] is False and g["violations"][0]["code"] == "not_a_query"
    assert events[-1]["code"] == "rejected"
    # The violation went back to the model with the repair request.
    assert "not_a_query" in str(llm.requests[1]["messages"]) or "SELECT" in llm.requests[1]["messages"][-1]["content"]
    assert sqlite3.connect(shop_db).execute("SELECT COUNT(*) FROM orders").fetchone() == (40,)

    llm.script("DELETE FROM orders", "DELETE FROM orders", "DELETE FROM orders")
    with pytest.raises(aigis.GuardRejected) as e:
        assistant.ask("Remove all orders")
    assert e.value.code == "rejected" and isinstance(e.value, aigis.AigisError)
    # The last verdict's violations come with the exception, as from aigis.guard() itself.
    assert [v["code"] for v in e.value.violations] == ["not_a_query"]
    assert e.value.message == events[-1]["message"]


def test_dml_reply_is_repaired_into_a_select(make_assistant, llm):
    llm.script("DELETE FROM orders", "SELECT COUNT(*) AS n FROM orders", "There are 40 orders.")
    events = list(make_assistant().stream("How many orders are there?"))
    assert shape(events) == [
        "meta", "status:schema", "status:generate", "sql", "guard", "status:repair", "sql", "guard",
        "status:execute", "rows", "status:summarize", "delta", "done",
    ]
    assert events[-1]["answer"] == "There are 40 orders."
    assert [e["rows"] for e in events if e["type"] == "rows"] == [[[40]]]


def test_missing_column_is_repaired(make_assistant, llm):
    llm.script("SELECT revenue FROM stores", "SELECT name FROM stores ORDER BY name", "Three stores.")
    events = list(make_assistant(charts=False).stream("List the stores"))
    assert shape(events) == [
        "meta", "status:schema", "status:generate", "sql", "guard", "status:execute",
        "status:repair", "sql", "guard", "status:execute", "rows", "status:summarize", "delta", "done",
    ]
    repair = next(e for e in events if e.get("stage") == "repair")
    assert "revenue" in repair["message"]
    assert next(e for e in events if e["type"] == "rows")["rows"] == [["Harbour"], ["Old Town"], ["Riverside"]]


def test_llm_auth_failure_raises_llm_error_without_the_key(make_assistant, llm):
    llm.script(Reply(status=401))
    events = list(make_assistant().stream("anything"))
    assert events[-1]["type"] == "error" and events[-1]["code"] == "llm_auth"
    assert API_KEY not in str(events)

    llm.script(Reply(status=401))
    with pytest.raises(aigis.LlmError) as e:
        make_assistant().ask("anything")
    assert e.value.code == "llm_auth" and API_KEY not in str(e.value)


def slow_summary():
    return Reply("word " * 400, chunk=5, delay=0.02)


def test_closing_a_stream_cancels_the_request(make_assistant, llm):
    llm.script("SELECT COUNT(*) AS n FROM orders", slow_summary())
    stream = make_assistant().stream("How many orders?")
    for event in stream:
        if event["type"] == "delta":
            break
    assert not llm.disconnected.wait(0.5)  # still streaming while the stream is open
    stream.close()
    # The server notices the client went away long before its 8 s reply would end.
    assert llm.disconnected.wait(5), "the model request was not cancelled"
    assert list(stream) == []


def test_breaking_out_of_astream_cancels_the_request(make_assistant, llm):
    llm.script("SELECT COUNT(*) AS n FROM orders", slow_summary())
    assistant = make_assistant()

    async def first_delta():
        async for event in assistant.astream("How many orders?"):
            if event["type"] == "delta":
                return event  # the iterator is dropped here, which cancels the request

    started = time.monotonic()
    assert asyncio.run(first_delta())["text"]
    assert llm.disconnected.wait(5), "the model request was not cancelled"
    assert time.monotonic() - started < 6


def test_with_block_closes_the_stream(make_assistant, llm):
    llm.script("SELECT COUNT(*) AS n FROM orders", slow_summary())
    with make_assistant().stream("How many orders?") as stream:
        next(e for e in stream if e["type"] == "delta")
    assert llm.disconnected.wait(5), "the model request was not cancelled"


def test_repr_hides_secrets(make_assistant):
    assistant = make_assistant()
    assert API_KEY not in repr(assistant) and "sqlite" in repr(assistant)
    assert assistant.dialect == "sqlite"
    assert {t["name"] for t in assistant.schema()["tables"]} >= {"stores", "orders", "order_items"}


def test_bad_database_url_raises_config_error(llm):
    with pytest.raises(aigis.ConfigError) as e:
        aigis.Assistant(db="ftp://nowhere/x", base_url=llm.base_url, model=MODEL, api_key=API_KEY)
    assert e.value.code == "config"


def test_demo_database_answers_through_the_fake_model(tmp_path, llm):
    path = aigis.demo_database(tmp_path / "demo.db")
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"stores", "customers", "products", "orders", "order_items"} <= tables
    assert aigis.demo_database(path) == path  # kept, not rebuilt

    llm.script("SELECT COUNT(*) AS n FROM orders", "The shop has 300 orders.")
    assistant = aigis.Assistant(db=f"sqlite://{path}", base_url=llm.base_url, model=MODEL, api_key=API_KEY)
    answer = assistant.ask("How many orders are there?")
    assert answer.rows == [list(sqlite3.connect(path).execute("SELECT COUNT(*) FROM orders").fetchone())]
    assert answer.answer == "The shop has 300 orders."


def test_missing_database_file_raises_database_error(tmp_path, llm):
    with pytest.raises(aigis.DatabaseError) as e:
        aigis.Assistant(db=f"sqlite://{tmp_path}/absent.db", base_url=llm.base_url, model=MODEL, api_key=API_KEY)
    assert e.value.code == "db_connect" and "absent.db" in str(e.value)
    assert not (tmp_path / "absent.db").exists()  # read-only: never created


def _local_model_url():
    """The real local model's URL if `../shared` has it and it is answering, else a skip reason."""
    import pathlib
    import subprocess
    import urllib.request

    script = pathlib.Path(__file__).resolve().parents[3] / "shared/scripts/local-llm.sh"
    if not script.is_file():
        return None, "../shared is absent, so there is no local model"
    url = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True).stdout.strip()
    try:
        urllib.request.urlopen(f"{url}/models", timeout=3).read()
    except OSError:
        return None, f"the local model is not running at {url} (scripts/test.sh starts it)"
    return url, None


def test_real_local_model_ends_in_done_or_a_clear_error(tmp_path):
    url, reason = _local_model_url()
    if url is None:
        pytest.skip(reason)
    db = f"sqlite://{aigis.demo_database(tmp_path / 'demo.db')}"
    budget = {"budget": {"max_wall_time": {"secs": 240, "nanos": 0}}}
    assistant = aigis.Assistant(db=db, base_url=url, model="smollm2-135m", api_key="unused", config=budget)
    events = list(assistant.stream("How many customers are there?"))
    assert events[0]["type"] == "meta"
    terminal = [e for e in events if e["type"] in ("done", "error")]
    assert len(terminal) == 1 and terminal[0] is events[-1]
    if terminal[0]["type"] == "error":
        assert terminal[0]["code"] and terminal[0]["message"]
    print("local model:", shape(events), terminal[0].get("code") or terminal[0].get("answer"))
