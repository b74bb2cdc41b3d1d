"""The pytest plugin, as a user meets it: a throwaway test file run by a nested pytest."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from helpers import PYTHON

USER_TESTS = textwrap.dedent(
    """
    import os
    import subprocess
    import sys

    import pytest

    import symbl


    def test_the_sdk_talks_to_the_emulator(symbl_emulator):
        payload = {"messages": [{"payload": {"content": "Can we meet tomorrow?"}}]}
        conversation = symbl.Text.process(payload=payload)
        assert conversation.get_questions().questions[0].text == "Can we meet tomorrow?"
        (submitted,) = symbl_emulator.requests("/v1/process/text")
        assert submitted.json["messages"] == payload["messages"]


    def test_each_test_gets_a_fresh_emulator(symbl_emulator):
        assert symbl_emulator.requests() == []
        symbl_emulator.add_conversation([{"payload": {"content": "Hi."}}], conversation_id="42")
        assert symbl.conversations.get_messages("42").messages[0].text == "Hi."


    def test_subprocesses_see_the_emulator_too(symbl_emulator):
        code = "import symbl; print(symbl.Conversations.get_conversation('7').id)"
        symbl_emulator.add_conversation([{"payload": {"content": "Hi."}}], conversation_id="7")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "7", out.stderr


    def test_faults_for_my_retry_code(symbl_emulator):
        symbl_emulator.add_fault(path="/v1/conversations/*", status=500, body={"message": "down"})
        try:
            symbl.conversations.get_messages("1")
        except symbl.InternalServerError as error:
            assert error.message == "down"
        else:
            raise AssertionError("expected an InternalServerError")


    def test_the_admin_api_over_http_with_the_fixtures_token(symbl_emulator):
        import requests

        url = symbl_emulator.base_url + "/_emulator/settings"
        assert requests.get(url, timeout=5).status_code == 401
        answer = requests.get(url, headers=symbl_emulator.admin_headers, timeout=5)
        assert answer.json()["tokenLifetime"] == 86400.0


    def test_credentials_remembered_before_the_fixture():
        from symbl._transport.credentials import Credentials, remember_accepted

        remember_accepted(Credentials("outside-id", "outside-secret"), "http://127.0.0.1:9")


    def test_the_fixture_starts_and_ends_with_none_remembered(symbl_emulator, monkeypatch):
        monkeypatch.delenv("SYMBL_APP_ID")
        monkeypatch.delenv("SYMBL_APP_SECRET")
        with pytest.raises(symbl.ConfigurationError, match="there were none"):
            symbl.Client()
        symbl_emulator.add_conversation([{"payload": {"content": "Hi."}}], conversation_id="42")
        symbl.Conversations.get_messages("42", credentials=symbl_emulator.credentials)
        monkeypatch.delenv("SYMBL_BASE_URL")
        with symbl.Client() as remembered:  # with the base URL they were accepted at
            assert remembered.base_url == symbl_emulator.base_url


    def test_nothing_remembered_is_left_after_the_fixture():
        with pytest.raises(symbl.ConfigurationError, match="there were none"):
            symbl.Client()
    """
)


def test_the_plugin_fixture_in_a_users_test_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMBL_")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
