"""The emulator's Async, Job and Conversation API as a server: statuses, webhooks, strictness,
the old client's quirks, transcripts, downloads, and honest answers for silent media."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import symbl
from symbl.emulator import Emulator

from helpers import MEETING, TRANSCRIPT, admin_http, make_wav, wait_until


def call(emu: Emulator, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"x-api-key": token, **kwargs.pop("headers", {})}
    return requests.request(method, emu.base_url + path, headers=headers, timeout=10, **kwargs)


def job_status(emu: Emulator, token: str, job_id: str) -> str:
    return str(call(emu, token, "GET", f"/v1/job/{job_id}").json()["status"])


def wait_for_job(emu: Emulator, token: str, job_id: str) -> str:
    wait_until(lambda: job_status(emu, token, job_id) in ("completed", "failed"), timeout=10)
    return job_status(emu, token, job_id)


class Receiver(http.server.ThreadingHTTPServer):
    """A local HTTP server recording POSTs (webhooks) and serving files (media URLs)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.posts: list[Any] = []
        self.files = files
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.posts.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        body = self.server.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    files = {"/call.wav": make_wav(tmp_path / "call.wav").read_bytes(), "/junk.wav": b"junk" * 50}
    server = Receiver(files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_jobs_walk_scheduled_in_progress_completed(emu: Emulator, token: str) -> None:
    emu.configure(job_queue_seconds=0.3, job_processing_seconds=0.3)
    answer = call(emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"]})
    assert answer.status_code == 201
    job_id = answer.json()["jobId"]
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
        status = job_status(emu, token, job_id)
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.02)
    assert seen == ["scheduled", "in_progress", "completed"]
    assert call(emu, token, "GET", f"/v1/job/{job_id}").json() == {
        "id": job_id,
        "status": "completed",
    }


def test_jobs_of_one_conversation_run_one_after_another(emu: Emulator, token: str) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.3)
    first = call(
        emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"][:2]}
    ).json()
    cid = first["conversationId"]
    more = {"messages": [{"payload": {"content": "Appended later."}, "from": {"name": "Mike"}}]}
    second = call(emu, token, "PUT", f"/v1/process/text/{cid}", json=more).json()
    assert second["conversationId"] == cid
    time.sleep(0.15)
    assert job_status(emu, token, first["jobId"]) == "in_progress"
    assert job_status(emu, token, second["jobId"]) == "scheduled"
    assert wait_for_job(emu, token, second["jobId"]) == "completed"
    messages = call(emu, token, "GET", f"/v1/conversations/{cid}/messages").json()["messages"]
    assert messages[-1]["text"] == "Appended later."
    assert messages[-1]["timeOffset"] > messages[-2]["timeOffset"]


def test_webhook_gets_every_status_change(emu: Emulator, token: str, receiver: Receiver) -> None:
    hook = receiver.url + "/hook"
    body = {"messages": MEETING["messages"], "webhookUrl": hook}
    job_id = call(emu, token, "POST", "/v1/process/text", json=body).json()["jobId"]
    assert wait_for_job(emu, token, job_id) == "completed"
    assert wait_until(lambda: len(receiver.posts) == 2)
    assert receiver.posts == [
        {"jobId": job_id, "status": "in_progress"},
        {"jobId": job_id, "status": "completed"},
    ]
    assert [delivery["status"] for delivery in emu.webhooks()] == [200, 200]


def test_url_jobs_download_the_media(emu: Emulator, token: str, receiver: Receiver) -> None:
    emu.configure(allowed_media_hosts=[receiver.host])
    answer = call(
        emu, token, "POST", "/v1/process/audio/url", json={"url": receiver.url + "/call.wav"}
    )
    job = answer.json()
    assert wait_for_job(emu, token, job["jobId"]) == "completed"
    messages = call(emu, token, "GET", f"/v1/conversations/{job['conversationId']}/messages").json()
    assert [m["text"] for m in messages["messages"]] == [
        line["text"] for line in TRANSCRIPT["transcript"]
    ]


@pytest.mark.parametrize("path", ["/missing.wav", "/junk.wav"])
def test_url_that_cannot_be_fetched_or_decoded_fails_the_job(
    emu: Emulator, token: str, receiver: Receiver, path: str
) -> None:
    emu.configure(allowed_media_hosts=[receiver.host])
    answer = call(emu, token, "POST", "/v1/process/audio/url", json={"url": receiver.url + path})
    assert wait_for_job(emu, token, answer.json()["jobId"]) == "failed"


def test_old_client_quirks_are_tolerated(emu: Emulator, token: str, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "a.wav").read_bytes()
    # 2.0.6 sends customVocabulary one character per repeated key, and an empty Content-Type.
    letters = [("customVocabulary", char) for char in json.dumps(["ab", "cd"])]
    answer = call(
        emu,
        token,
        "POST",
        "/v1/process/audio",
        data=wav,
        params=[*letters, ("detectPhrases", "true")],
        headers={"Content-Type": ""},
    )
    assert answer.status_code == 201, answer.text
    assert wait_for_job(emu, token, answer.json()["jobId"]) == "completed"
    text_body = {
        "messages": MEETING["messages"],
        "detectPhrases": "true",
        "confidenceThreshold": "0.7",
    }
    assert call(emu, token, "POST", "/v1/process/text", json=text_body).status_code == 201


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"colour": "red", "confidenceThreshold": "0.2"}, "0.5 to 1.0"),
        ({"confidenceThreshold": "7"}, "0.5 to 1.0"),
        ({"detectEntities": "maybe"}, "True or False"),
        ({"trackers": "not json"}, "JSON text"),
    ],
)
def test_bad_options_are_400s(
    emu: Emulator, token: str, tmp_path: Path, params: dict, fragment: str
) -> None:
    answer = call(
        emu,
        token,
        "POST",
        "/v1/process/audio",
        data=make_wav(tmp_path / "a.wav").read_bytes(),
        params=params,
        headers={"Content-Type": "audio/wav"},
    )
    assert answer.status_code == 400
    assert fragment in answer.json()["message"]


def test_unknown_options_are_taken_as_given(emu: Emulator, token: str, tmp_path: Path) -> None:
    """Options the emulator does not know pass (PROTOCOL.md §11.8), in the query of a file
    upload and in the body of a text submission, beside known ones that are still checked."""
    upload = call(
        emu,
        token,
        "POST",
        "/v1/process/audio",
        data=make_wav(tmp_path / "a.wav").read_bytes(),
        params={"colour": "red", "confidenceThreshold": "0.7"},
        headers={"Content-Type": "audio/wav"},
    )
    assert upload.status_code == 201, upload.text
    assert wait_for_job(emu, token, upload.json()["jobId"]) == "completed"
    text = {"messages": MEETING["messages"], "colour": {"shade": "red"}, "detectPhrases": True}
    submitted = call(emu, token, "POST", "/v1/process/text", json=text)
    assert submitted.status_code == 201, submitted.text
    assert wait_for_job(emu, token, submitted.json()["jobId"]) == "completed"


def test_upload_checks(emu: Emulator, token: str, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "a.wav").read_bytes()
    wrong_type = call(
        emu, token, "POST", "/v1/process/audio", data=wav, headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 400
    empty = call(
        emu, token, "POST", "/v1/process/video", data=b"", headers={"Content-Type": "video/mp4"}
    )
    assert empty.status_code == 400
    unknown = call(
        emu, token, "PUT", "/v1/process/audio/42", data=wav, headers={"Content-Type": "audio/wav"}
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "The conversationId is either invalid or does not exist."}


def test_media_without_a_transcript_completes_honestly(emu_env: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "speech-without-words.wav", seconds=4.0, transcript=None)
    conversation = symbl.Audio.process_file(file_path=wav)
    assert conversation.get_messages().messages == []
    metrics = {m.type: m for m in conversation.get_analytics().metrics}
    assert metrics["total_silence"].seconds == pytest.approx(4.0, abs=0.05)
    admin = admin_http(emu_env)
    listing = admin.get(emu_env.base_url + "/_emulator/conversations", timeout=5).json()
    (summary,) = listing["conversations"]
    assert summary["sources"] == ["wav: no transcript"]


def test_analytics_measure_speech_from_the_samples(emu_env: Emulator, tmp_path: Path) -> None:
    conversation = symbl.Audio.process_file(file_path=make_wav(tmp_path / "a.wav", seconds=3.0))
    metrics = {m.type: m for m in conversation.get_analytics().metrics}
    # The tone bursts last 1.0 s and 1.1 s of the 3 s recording.
    assert metrics["total_silence"].seconds == pytest.approx(0.9, abs=0.08)
    assert metrics["total_talk_time"].seconds == pytest.approx(2.1, abs=0.08)


def test_registered_transcript_by_sha256_wins(emu_env: Emulator, tmp_path: Path) -> None:
    import hashlib

    wav = make_wav(tmp_path / "a.wav")
    digest = hashlib.sha256(wav.read_bytes()).hexdigest()
    emu_env.register_media([{"text": "Registered words.", "start": 0, "end": 1}], sha256=digest)
    conversation = symbl.Audio.process_file(file_path=wav)
    assert [m.text for m in conversation.get_messages().messages] == ["Registered words."]


def test_conversation_resource_list_and_metadata(emu: Emulator, token: str) -> None:
    created = call(
        emu,
        token,
        "POST",
        "/v1/process/text",
        json={"messages": MEETING["messages"], "name": "Demo"},
    ).json()
    wait_for_job(emu, token, created["jobId"])
    cid = created["conversationId"]
    resource = call(emu, token, "GET", f"/v1/conversations/{cid}").json()
    assert resource["name"] == "Demo"
    assert resource["startTime"] == "2021-06-01T16:00:00.000Z"
    assert resource["endTime"] == "2021-06-01T16:00:33.000Z"
    assert {member["name"] for member in resource["members"]} == {"Natalia", "Mike"}
    later = call(emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"]})
    wait_for_job(emu, token, later.json()["jobId"])
    later_id = later.json()["conversationId"]

    def listed(**query: Any) -> list[str]:
        page = call(emu, token, "GET", "/v1/conversations", params={"limit": 5, **query})
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["conversations"]]

    # Listings order by creation time (the emulator's startTime), oldest first by default.
    assert listed() == [cid, later_id]
    assert listed(order="desc") == [later_id, cid]
    assert listed(order="asc", limit=1, offset=1) == [later_id]
    updated = call(
        emu, token, "PUT", f"/v1/conversations/{cid}", json={"metadata": {"agentId": "jd"}}
    )
    assert updated.json() == {"id": cid, "metadata": {"agentId": "jd"}}
    renamed = call(emu, token, "PUT", f"/v1/conversations/{cid}", json={"name": "Renamed"})
    assert renamed.json() == {"id": cid, "name": "Renamed", "metadata": {"agentId": "jd"}}
    resource = call(emu, token, "GET", f"/v1/conversations/{cid}").json()
    assert (resource["name"], resource["metadata"]) == ("Renamed", {"agentId": "jd"})
    for refused in ({"type": "x"}, {"metadata": {"agentId": 5}}, {"name": ""}, {}):
        answer = call(emu, token, "PUT", f"/v1/conversations/{cid}", json=refused)
        assert answer.status_code == 400, refused
    assert call(emu, token, "GET", f"/v1/conversations/{cid}").json()["name"] == "Renamed"


def test_summary_is_404_while_processing(emu: Emulator, token: str) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    created = call(
        emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"]}
    ).json()
    cid = created["conversationId"]
    assert call(emu, token, "GET", f"/v1/conversations/{cid}/summary").status_code == 404
    wait_for_job(emu, token, created["jobId"])
    summary = call(emu, token, "GET", f"/v1/conversations/{cid}/summary").json()["summary"]
    assert summary and "Natalia" in summary[0]["text"]


def test_call_score_only_when_requested(emu: Emulator, token: str) -> None:
    plain = call(
        emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"]}
    ).json()
    wait_for_job(emu, token, plain["jobId"])
    assert (
        call(
            emu, token, "GET", f"/v1/conversations/{plain['conversationId']}/callscore"
        ).status_code
        == 404
    )
    body = {"messages": MEETING["messages"], "features": {"featureList": ["insights", "callScore"]}}
    scored = call(emu, token, "POST", "/v1/process/text", json=body).json()
    wait_for_job(emu, token, scored["jobId"])
    score = call(
        emu, token, "GET", f"/v1/conversations/{scored['conversationId']}/callscore"
    ).json()
    assert 0 <= score["score"] <= 100
    assert {c["name"] for c in score["criteria"]} == {
        "Communication and Engagement",
        "Question Handling",
        "Next Steps",
    }


def test_experiences_and_legacy_trackers_path(emu: Emulator, token: str) -> None:
    body = {
        "messages": MEETING["messages"],
        "trackers": [{"name": "Price", "vocabulary": ["annual plan"]}],
    }
    created = call(emu, token, "POST", "/v1/process/text", json=body).json()
    wait_for_job(emu, token, created["jobId"])
    cid = created["conversationId"]
    ui = call(
        emu,
        token,
        "POST",
        f"/v1/conversations/{cid}/experiences",
        json={"name": "verbose-text-summary"},
    )
    assert ui.status_code == 201
    assert ui.json()["url"].startswith("https://meetinginsights.symbl.ai/meeting/#/")
    legacy = call(emu, token, "GET", f"/v1/conversations/{cid}/trackers").json()
    current = call(emu, token, "GET", f"/v1/conversations/{cid}/trackers-detected").json()
    assert legacy == current
    assert current[0]["name"] == "Price"
    assert current[0]["matches"][0]["messageRefs"][0]["offset"] >= 0


def test_same_input_same_insights(emu: Emulator, token: str) -> None:
    answers = []
    for _ in range(2):
        created = call(
            emu, token, "POST", "/v1/process/text", json={"messages": MEETING["messages"]}
        ).json()
        wait_for_job(emu, token, created["jobId"])
        answers.append(
            call(
                emu, token, "GET", f"/v1/conversations/{created['conversationId']}/action-items"
            ).json()
        )
    strip = [
        [
            {k: v for k, v in item.items() if k not in ("id", "messageIds", "from", "assignee")}
            for item in a["actionItems"]
        ]
        for a in answers
    ]
    assert strip[0] == strip[1]
    assert strip[0]


def test_admin_media_and_conversation_import(emu: Emulator) -> None:
    admin = emu.base_url + "/_emulator"
    http = admin_http(emu)
    bad = http.post(
        admin + "/media", json={"url": "https://x", "transcript": [{"text": ""}]}, timeout=5
    )
    assert bad.status_code == 400
    good = http.post(
        admin + "/media",
        json={"url": "https://x", "transcript": [{"text": "Hi.", "start": 0, "end": 1}]},
        timeout=5,
    )
    assert good.status_code == 201
    imported = http.post(
        admin + "/conversations", json={"id": "777", "messages": MEETING["messages"]}, timeout=5
    )
    assert imported.status_code == 201
    assert imported.json()["id"] == "777"
    duplicate = http.post(
        admin + "/conversations", json={"id": "777", "messages": MEETING["messages"]}, timeout=5
    )
    assert duplicate.status_code == 400
