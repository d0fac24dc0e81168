"""Errors read as one line; ``--debug`` adds the traceback."""

from typer.testing import CliRunner

from stashtag_core.errors import DEBUG_ENV, InputError, describe


def _raise(exc):
    try:
        raise exc
    except Exception as caught:
        return caught


def test_describe_is_plain_unless_debugging(monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert describe(_raise(InputError("x.jpg: empty file"))) == "x.jpg: empty file"
    assert describe(_raise(KeyError("rects"))) == "KeyError: 'rects'"
    monkeypatch.setenv(DEBUG_ENV, "1")
    text = describe(_raise(KeyError("rects")))
    assert text.startswith("KeyError: 'rects'\nTraceback (most recent call last):")
    assert "in _raise" in text


def test_debug_flag_reaches_the_environment(monkeypatch, tmp_path):
    import os

    from stashtag.cli import app

    monkeypatch.setenv(DEBUG_ENV, "0")  # restored (unset) after the test
    result = CliRunner().invoke(app, ["--debug", "retag", "--store", str(tmp_path / "no.db")])
    assert result.exit_code == 1 and "no store yet" in result.output
    assert os.environ.get(DEBUG_ENV) == "1"
