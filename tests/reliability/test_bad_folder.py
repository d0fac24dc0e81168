"""One ``stashtag tag`` run over a folder of every hostile kind of file beside good scenes:
every good scene is tagged, every bad one carries its own exact error, every file that is no
scene is named with the reason it was passed over, and the server stays up."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.reliability.folder_corpus import TAGGED, write_folder


def test_one_run_over_a_hostile_folder(triton, tmp_path, figures):
    from stashtag.cli import app

    root = tmp_path / "library"
    expect, skipped = write_folder(root)
    (tmp_path / "studios.txt").write_text("Stashtag Demo\nAnother Studio\n")
    out = tmp_path / "results.json"
    args = ["tag", str(root), "--triton", triton.options.grpc_url]
    args += ["--store", str(tmp_path / "s.db")]
    args += ["--out", str(out), "--studios", str(tmp_path / "studios.txt")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output  # some scenes failed, none stopped the run
    got = {}
    for r in json.loads(out.read_text()):
        name = r["scene"].removeprefix(f"{root}/")
        got[name if "." in name else f"{name}_sprite.jpg"] = r
    assert sorted(got) == sorted(expect)
    wrong = {
        name: got[name]["error"]
        for name, error in expect.items()
        if got[name]["error"] != error.replace("{root}", str(root))
    }
    assert wrong == {}
    assert got["watermarked_sprite.jpg"]["studio"]["source"] == "video"
    assert got["watermarked_sprite.jpg"]["studio"]["studio"] == "Stashtag Demo"
    output = " ".join(result.output.split())  # rich wraps long lines
    assert f"passed over {len(skipped)} files that are no scene" in output
    for name, reason in skipped.items():
        assert f"{root / name}: {reason}" in output
    assert triton.ready()
    bad = [n for n, e in expect.items() if e != TAGGED]
    figures.update(
        scenes=len(expect),
        bad_kinds=len(bad),
        good_tagged=sum(not got[n]["error"] for n in expect if expect[n] == TAGGED),
        exact_errors=len(bad) - len(wrong),
        passed_over=len(skipped),
        errors={n: got[n]["error"].replace(str(root), "…") for n in bad},
    )
