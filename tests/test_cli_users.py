"""``hotspot-tasking user``: accounts from the command line, passwords never printed, run as a real process too."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from hotspot_cli.main import main
from spatial.store import accounts as A
from spatial.store import audit, connect

REPO = Path(__file__).resolve().parents[1]
PW = "a long enough passphrase"


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_role_disable_enable(sqlite_url, capsys, monkeypatch):
    db = ("--database", sqlite_url)
    code, out, err = run(capsys, monkeypatch, *db, "user", "add", "wendy", "--role", "warden", "--agent-id", "W01",
                         "--password-stdin", stdin=PW + "\n")
    assert code == 0, err
    assert "wendy added: role warden, agent W01" in out and PW not in out + err
    assert A.authenticate(connect(sqlite_url), "wendy", PW).agent_id == "W01"

    assert run(capsys, monkeypatch, *db, "user", "add", "cath", "--role", "chair", "--password-stdin",
               stdin=PW + "\n")[0] == 0
    code, out, _ = run(capsys, monkeypatch, *db, "user", "role", "cath", "analyst")
    assert code == 0 and "cath is now analyst" in out
    assert run(capsys, monkeypatch, *db, "user", "disable", "wendy")[0] == 0
    code, out, _ = run(capsys, monkeypatch, *db, "user", "list")
    lines = {ln.split()[0]: ln for ln in out.splitlines()[1:]}
    assert set(lines) == {"cath", "wendy"} and "disabled" in lines["wendy"] and "disabled" not in lines["cath"]
    assert "argon2" not in out and PW not in out
    assert run(capsys, monkeypatch, *db, "user", "enable", "wendy")[0] == 0
    actions = audit.list_audit(connect(sqlite_url))
    assert actions["action"].tolist()[::-1] == ["user-add", "sign-in", "user-add", "user-role", "user-disable",
                                                "user-enable"]
    assert set(actions.loc[actions["action"] != "sign-in", "role"]) == {"operator"}


def test_bad_input_is_a_message_not_a_traceback(sqlite_url, capsys, monkeypatch):
    db = ("--database", sqlite_url)
    code, _, err = run(capsys, monkeypatch, *db, "user", "add", "w", "--role", "warden", "--password-stdin",
                         stdin=PW + "\n")
    assert code == 2 and "needs --agent-id" in err and "Traceback" not in err
    code, _, err = run(capsys, monkeypatch, *db, "user", "add", "c", "--role", "chair", "--password-stdin",
                       stdin="short\n")
    assert code == 2 and "at least 10 characters" in err and "short" not in err.replace("too short", "")
    code, _, err = run(capsys, monkeypatch, *db, "user", "disable", "ghost")
    assert code == 2 and "no account named 'ghost'" in err


def test_the_installed_command_reads_the_password_from_stdin(sqlite_url):
    done = subprocess.run([sys.executable, "-m", "hotspot_cli.main", "--database", sqlite_url, "user", "add", "pat",
                           "--role", "partner", "--password-stdin"], input=PW + "\n", capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert PW not in done.stdout + done.stderr
    assert A.get_account(connect(sqlite_url), "pat").role == "partner"
