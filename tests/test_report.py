"""The HTML report: self-contained, every section present, rendered by a real headless Chromium.

The browser tests need ``chromium`` (Debian's package). When it is missing
they install it with ``apt-get`` where this user can (root, or sudo without
a password); only where it is neither there nor installable do they skip,
saying why, and in CI (``CI=true``, where ``.ci/run`` installs it first)
they fail instead. Chromium runs with every network request sent
to a closed port, so a page that needed anything from outside would show
broken figures; we check that it loaded (a non-blank screenshot) and that
its DOM holds every section.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.analyze import AnalysisPlan, analyze, default_plan
from topograph.pipeline.generate import GenerateSpec, generate
from topograph.pipeline.ingest import ingest
from topograph.pipeline.queries import named_query
from topograph.pipeline.report import SECTION_IDS, ReportOptions, ReportResult, write_report
from topograph.stores import open_store

from conftest import IN_CI, REPO, SHARED_TOPO, needs_shared

runner = CliRunner()
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.cache
def _install_chromium() -> str:
    """Install Debian's ``chromium`` when this user can (root, or sudo without a password).

    Returns why it could not, or "" when it is installed now.
    """
    if shutil.which("apt-get") is None:
        return "no apt-get here to install it with"
    if os.geteuid() == 0:
        as_root: list[str] = []
    elif (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        as_root = ["sudo", "-n"]
    else:
        return "this user can neither install packages nor sudo"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(
                [*as_root, *cmd], capture_output=True, text=True, env=env, timeout=900, check=False
            )
        except subprocess.TimeoutExpired:
            return f"{' '.join(cmd)} timed out"
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return "" if _find_browser() else "apt-get installed chromium but it is not on PATH"


def chromium() -> str:
    """The headless browser: found on PATH, else installed (apt-get), else skip (fail in CI)."""
    found = _find_browser()
    if found:
        return found
    why = _install_chromium()
    found = _find_browser()
    if found:
        return found
    reason = f"no headless Chromium on PATH and it cannot be installed here ({why})"
    if IN_CI:
        pytest.fail(f"CI must render the report: {reason}")
    pytest.skip(f"{reason}: apt-get install -y chromium; the HTML was checked without a browser")


def _browse(html: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium, headless, offline: every request goes to a closed port, no DNS."""
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp / 'chromium-profile'}", "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND", *args, html.resolve().as_uri(),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def check_in_chromium(html: Path, tmp: Path, height: int = 5000) -> np.ndarray:
    """Render ``html``: assert the screenshot is not blank and the DOM has every section."""
    shot = tmp / f"{html.stem}.png"
    done = _browse(html, tmp, f"--screenshot={shot}", f"--window-size=1280,{height}")
    assert shot.is_file() and shot.stat().st_size > 20_000, done.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (height, 1280)
    assert pixels.std() > 15.0  # a blank or failed page is one flat colour
    assert (pixels < 200).mean() > 0.02  # text and figures, not just background
    dom = _browse(html, tmp, "--dump-dom").stdout
    for sid in SECTION_IDS:
        assert re.search(rf"<section id=\"{sid}\"", dom), sid
    assert "could not be drawn" not in dom
    return pixels


def _self_contained(text: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//|file:)""", text, re.I)
    assert not re.search(r"<(?:link|script|iframe|object|embed)\b", text, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:|//)", text, re.I)


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> ReportResult:
    """The in-repo sample (3 runs x 3 epochs, with accuracies), fully analysed, reported."""
    tmp = tmp_path_factory.mktemp("report")
    uri = str(tmp / "sample.lbdb")
    with open_store(uri) as store:
        ingest(store, [str(sample_dir)])
        analyze(store, uri, default_plan(store), workers=1)
        return write_report(store, tmp / "sample.html", ReportOptions(min_distance=0.2))


@pytest.mark.slow
def test_every_section_inline_and_nothing_from_outside(sample_report: ReportResult) -> None:
    text = sample_report.path.read_text(encoding="utf-8")
    _self_contained(text)
    for sid in SECTION_IDS:
        assert f"<section id='{sid}'>" in text
    assert text.count("<svg") == 4  # Figure 4, evolution, spectra, tickets
    assert "could not be drawn" not in text and not sample_report.notes
    # the named queries behind the sections, with their text
    for name in ("runs", "run_similarity", "evolution_path", "spectral_vs_accuracy",
                 "winning_tickets"):  # fmt: skip
        assert name in sample_report.queries
        first_line = named_query(name).text.splitlines()[0]
        assert first_line.replace("'", "&#x27;") in text, name
    assert "of 9 same-epoch pairs" in text  # the tickets' numbers


@pytest.mark.slow
def test_the_sample_report_renders_in_chromium(sample_report: ReportResult, tmp_path: Path) -> None:
    check_in_chromium(sample_report.path, tmp_path)


@pytest.mark.slow
def test_report_of_a_generated_archive(tmp_path: Path) -> None:
    """An archive goes through a temporary store; without accuracies those sections say so."""
    nets = tmp_path / "nets"
    generate(GenerateSpec("figure4", (64, 48, 10), runs=3, epochs=2, dense_last=True), nets)
    archive = tmp_path / "generated.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(nets, arcname="nets")
    out = tmp_path / "generated.html"
    res = runner.invoke(
        app, ["report", str(archive), "--out", str(out), "--png", "--workers", "1",
              "--no-progress", "--sparse-only", "--annotate"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "temporary embedded store" in res.stderr
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    assert text.count("data:image/png;base64,") == 2  # Figure 4 and evolution
    assert "No spectral properties beside a test accuracy" in text
    assert "No pair of checkpoints at one epoch has a stored NNSTD and both accuracies" in text
    assert "layer 0" in text and "figure4_s0_w2" in text
    check_in_chromium(out, tmp_path, height=3000)


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _have_torch(), reason="reading .pt files needs torch: the [torch] extra")
def test_report_of_pytorch_runs(tmp_path: Path) -> None:
    """Real ``.pt`` checkpoints (the set-mlp fixtures: a plain state dict, and RigL-style masks)."""
    fixtures = REPO / "tests" / "data" / "checkpoints" / "set-mlp"
    runs = tmp_path / "runs"
    shutil.copytree(fixtures / "pt" / "run-0", runs / "plain")
    shutil.copytree(fixtures / "pt-masks" / "run-0", runs / "masks")
    out = tmp_path / "pt.html"
    res = runner.invoke(
        app, ["report", str(runs), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".html"] == ["pt.html"]
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    assert "2 runs, 8 complete checkpoints (8 with a test accuracy)" in text
    assert "(through a temporary embedded store)" in text
    assert text.count("<svg") == 4  # the two copies of one network: Figure 4 shows 0
    check_in_chromium(out, tmp_path, height=4000)


def test_report_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "x.lbdb"), "--out", "r.txt"])
    assert res.exit_code == 1 and "the report is an .html file" in res.stderr
    empty = runner.invoke(app, ["report", "--db", str(tmp_path / "y.lbdb"), "--out", "r.html"])
    assert empty.exit_code == 1 and "ingest" in empty.stderr
    both = runner.invoke(app, ["report", "x.tar.gz", "--db", "y.lbdb", "--out", "r.html"])
    assert both.exit_code == 1 and "not both" in both.stderr


@needs_shared
@pytest.mark.slow
def test_report_of_the_published_topologies(tmp_path: Path) -> None:
    """All 90 published checkpoints, NNSTD across runs at epochs 0 and 190, reported."""
    uri = str(tmp_path / "topo.lbdb")
    with open_store(uri) as store:
        ingest(store, [str(SHARED_TOPO)])
        analyze(store, uri, AnalysisPlan(across_epochs=(0, 190)), workers=2)
        result = write_report(store, tmp_path / "topo.html")
    text = result.path.read_text(encoding="utf-8")
    _self_contained(text)
    assert "10 runs, 90 complete checkpoints (63 with a test accuracy)" in text
    assert "of 42 same-epoch pairs" in text  # 21 pairs with accuracies at each of 2 epochs
    check_in_chromium(result.path, tmp_path)
