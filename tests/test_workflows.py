"""The GitHub Actions workflows: valid by GitHub's schema, clean by zizmor, and shaped as CI needs them.

check-jsonschema (with its vendored copy of GitHub's workflow schema) and zizmor run offline from
the environment's bin folder; the whole module takes about two seconds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
DEPENDABOT = REPO / ".github" / "dependabot.yml"

SEVERITIES = ("unknown", "informational", "low", "medium", "high")
BLOCKING = SEVERITIES.index("medium")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
PIN_COMMENT = re.compile(r"@[0-9a-f]{40}\s+#\s*v\d+\.\d+\.\d+\s*$")
GPU_LABELS = {"self-hosted", "linux", "gpu"}
#: What both test jobs run: the script that CI runs on any machine (README: "what CI runs").
CI_RUN = "bash .ci/run"
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"
# The only jobs that write: Pages' deployment, and the one that pushes the Colab notebooks to their branch.
WRITERS = {("ci.yml", "deploy"): {"pages", "id-token"}, ("ci.yml", "colab"): {"contents"}}

# A workflow GitHub itself would refuse: its job has no `runs-on`.
BROKEN = """\
name: broken
on: push
jobs:
  build:
    steps:
      - run: echo hello
"""

# A valid workflow that zizmor must flag: a tag instead of a SHA, a checkout that keeps the token,
# default permissions, and an issue title (anyone's text) pasted into a shell script.
UNSAFE = """\
name: unsafe
on: issues
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.issue.title }}"
"""


def tool(name: str) -> str:
    """The path of a command-line tool installed next to this Python (the project's virtual environment)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed next to {sys.executable}; run `make venv`", pytrace=False)
    return found


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root and capture its output."""
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=REPO, timeout=120)


def check_schema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Validate `files` with check-jsonschema against one of its vendored schemas."""
    return run(tool("check-jsonschema"), "--builtin-schema", schema, *files)


def zizmor(*files: Path, config: bool = True) -> subprocess.CompletedProcess[str]:
    """Audit `files` offline with zizmor; JSON on stdout, and a file it cannot parse is an error."""
    options = ["--offline", "--strict-collection", "--format", "json", "--no-exit-codes", "--no-progress"]
    return run(tool("zizmor"), *options, *([] if config else ["--no-config"]), *files)


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The findings of a zizmor run, after checking that the run itself worked."""
    assert result.returncode == 0, f"zizmor failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def severity(finding: dict[str, Any]) -> int:
    """A finding's severity as an index into SEVERITIES."""
    name = str(finding["determinations"]["severity"]).lower()
    return SEVERITIES.index(name) if name in SEVERITIES else 0


def describe(finding: dict[str, Any]) -> str:
    """One line per finding: what, how bad, and where."""
    where = []
    for location in finding["locations"]:
        if location["symbolic"]["kind"] != "Primary":
            continue
        key = location["symbolic"]["key"]
        path = key.get("Local", {}).get("verbatim_path", key) if isinstance(key, dict) else key
        line = location["concrete"]["location"]["start_point"]["row"] + 1
        where.append(f"{path}:{line}")
    return f"{finding['ident']} ({finding['determinations']['severity']}) at {', '.join(where)}: {finding['desc']}"


def load(path: Path) -> dict[str, Any]:
    """A workflow as data, with `on` under its own name (YAML 1.1 reads a bare `on` as true)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step of every job, with its job's name."""
    for name, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            yield name, step


def unpinned_uses(workflow: dict[str, Any]) -> list[str]:
    """The `uses:` of steps and jobs that name a remote action or workflow by anything but a full commit SHA."""
    uses = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    uses += [job["uses"] for job in workflow.get("jobs", {}).values() if "uses" in job]
    return [use for use in uses if not use.startswith("./") and not PINNED.match(use)]


def jobs_without_timeout(workflow: dict[str, Any]) -> list[str]:
    """The jobs that could run for GitHub's default six hours."""
    return [name for name, job in workflow.get("jobs", {}).items() if "timeout-minutes" not in job]


def expressions_in_scripts(workflow: dict[str, Any]) -> list[str]:
    """The `run:` scripts that interpolate `${{ }}` expressions (values belong in `env:`)."""
    return [f"{job}: {step['run'].strip()[:60]}" for job, step in steps(workflow) if "${{" in step.get("run", "")]


def writes(permissions: Any) -> set[str]:
    """The scopes a `permissions:` block grants write access to."""
    if permissions in ("write-all", None):
        return {"everything"}
    if isinstance(permissions, str):
        return set()
    return {scope for scope, level in permissions.items() if level == "write"}


def words(expression: str) -> str:
    """An expression with its whitespace collapsed, for comparisons."""
    return " ".join(expression.split())


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    """The checks workflow."""
    return load(WORKFLOW_DIR / "ci.yml")


def test_one_workflow_checks_and_publishes():
    assert {path.name for path in WORKFLOWS} == {"ci.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_githubs_schema(path: Path):
    result = check_schema("vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not DEPENDABOT.exists(), reason="no .github/dependabot.yml")
def test_dependabot_config_matches_its_schema():
    result = check_schema("vendor.dependabot", DEPENDABOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_more():
    inputs = [*WORKFLOWS, *([DEPENDABOT] if DEPENDABOT.exists() else [])]
    found = findings(zizmor(*inputs))
    for finding in found:
        print(describe(finding))  # the minor ones too, shown with -s or on failure
    blocking = [describe(finding) for finding in found if severity(finding) >= BLOCKING]
    assert not blocking, "zizmor findings:\n" + "\n".join(blocking)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_named(path: Path):
    assert unpinned_uses(load(path)) == []
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    uses = [line for line in lines if re.match(r"^(- )?uses:\s*[^.\s]", line)]
    assert uses, "no actions found: has the file's layout changed?"
    unnamed = [line for line in uses if not PIN_COMMENT.search(line)]
    assert unnamed == [], "pins need a `# vX.Y.Z` comment, which Dependabot keeps up to date"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_job_has_a_timeout_and_least_privilege(path: Path):
    workflow = load(path)
    assert jobs_without_timeout(workflow) == []
    assert workflow.get("permissions") in ({}, {"contents": "read"}), "top-level permissions must grant nothing"
    for name, job in workflow["jobs"].items():
        allowed = WRITERS.get((path.name, name), set())
        assert writes(job.get("permissions", {})) <= allowed, f"job {name} may write more than it needs"
    checkouts = [step for _, step in steps(workflow) if step.get("uses", "").startswith("actions/checkout@")]
    assert all(step.get("with", {}).get("persist-credentials") is False for step in checkouts)
    assert expressions_in_scripts(workflow) == []


def test_ci_runs_on_pushes_and_pull_requests_and_cancels_superseded_pull_request_runs(ci: dict[str, Any]):
    assert {"push", "pull_request", "workflow_dispatch"} <= set(ci["on"])
    assert ci["on"]["pull_request"]["branches"] == ["main"]
    assert words(ci["concurrency"]["cancel-in-progress"]) == "${{ github.event_name == 'pull_request' }}"
    assert "github.ref" in ci["concurrency"]["group"]


def test_both_ci_jobs_run_make_test_with_the_browser_and_mnist_in_place(ci: dict[str, Any]):
    for name in ("cpu", "gpu"):
        job = ci["jobs"][name]
        assert job["env"]["MNIST_TUTORIAL_DATA"] == "${{ github.workspace }}/data"
        test_step = next(step for step in job["steps"] if step.get("run") == CI_RUN)
        assert {"CHROME_BIN", "CHROMEDRIVER"} <= set(test_step["env"]), f"{name}: the browser tests need both paths"
        caches = [step["with"]["key"] for step in job["steps"] if "actions/cache" in step.get("uses", "")]
        assert "mnist-raw-v1" in caches
        assert any("hashFiles('book/**', 'mnist_tutorial/**', 'img/**', 'requirements.txt')" in key for key in caches)
        cached = [step["with"]["path"] for step in job["steps"] if "actions/cache" in step.get("uses", "")]
        assert any("_build/.dependencies" in path for path in cached), "without it, make book re-runs every chapter"
        assert any(step.get("if") == "failure()" and "upload-artifact" in step.get("uses", "") for step in job["steps"])
    assert ci["jobs"]["cpu"]["runs-on"] == "ubuntu-latest"


def test_the_readme_and_the_workflow_agree_about_what_ci_runs(ci: dict[str, Any]):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "| `.ci/run` | what CI runs" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for name in ("cpu", "gpu"):
        runs = [step.get("run", "") for step in ci["jobs"][name]["steps"]]
        assert CI_RUN in runs and "make test" not in runs, f"{name}: CI must run .ci/run, not its own copy"


def test_the_cpu_job_installs_pytorchs_cpu_build_and_the_gpu_job_does_not(ci: dict[str, Any]):
    assert ci["jobs"]["cpu"]["env"]["TORCH_INDEX_URL"] == CPU_WHEELS
    assert "TORCH_INDEX_URL" not in ci["jobs"]["gpu"]["env"]
    dry_run = subprocess.run(
        ["make", "-n", "-W", "requirements.txt", "venv", f"TORCH_INDEX_URL={CPU_WHEELS}"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
    ).stdout  # fmt: skip
    pins = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("torch")]
    assert f"pip install --quiet {' '.join(pins)} --index-url {CPU_WHEELS}" in dry_run
    assert dry_run.index(CPU_WHEELS) < dry_run.index("-r requirements-dev.txt"), "PyTorch first, then the pins"


def test_main_publishes_the_checked_pdf_of_the_book_beside_the_html(ci: dict[str, Any]):
    steps = ci["jobs"]["cpu"]["steps"]
    names = [step.get("run") or step.get("uses", "") for step in steps]
    pdf_at = next(i for i, name in enumerate(names) if "make pdf" in name)
    upload_at = next(i for i, name in enumerate(names) if name.startswith("actions/upload-pages-artifact@"))
    assert names.index(CI_RUN) < pdf_at < upload_at
    assert "tests/test_pdf.py" in names[pdf_at], "the PDF is checked before it is published"
    assert words(steps[pdf_at]["if"]) == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def test_the_external_links_are_checked_every_week_and_never_on_a_push(ci: dict[str, Any]):
    links = ci["jobs"]["links"]
    assert words(links["if"]) == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    assert "make linkcheck" in [step.get("run") for step in links["steps"]]
    assert ci["on"]["schedule"], "the weekly run"


def test_the_link_check_passes_offline_saying_what_it_skipped():
    result = subprocess.run(
        ["bash", ".ci/linkcheck"], capture_output=True, text=True, cwd=REPO, timeout=60,
        env={"PATH": "/usr/bin:/bin", "LINKCHECK_HOST": "unreachable.invalid", "PYTHON": sys.executable},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "linkcheck: unreachable.invalid cannot be reached from here; the external links were not checked"
    )


def test_the_gpu_job_waits_for_a_gpu_runner_and_shows_the_gpu(ci: dict[str, Any]):
    gpu = ci["jobs"]["gpu"]
    assert "vars.GPU_RUNNER == 'true'" in words(gpu["if"]), "without the variable, forks would queue forever"
    assert set(gpu["runs-on"]) == GPU_LABELS
    assert gpu["steps"][0]["run"] == "nvidia-smi"
    cpu_keys = {step["with"]["key"] for step in ci["jobs"]["cpu"]["steps"] if "actions/cache" in step.get("uses", "")}
    gpu_keys = {step["with"]["key"] for step in gpu["steps"] if "actions/cache" in step.get("uses", "")}
    assert cpu_keys & gpu_keys == {"mnist-raw-v1"}, "chapters executed on the CPU must not stand in for CUDA runs"


def test_only_the_book_that_passed_the_checks_on_main_is_published(ci: dict[str, Any]):
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    cpu, deploy, colab = ci["jobs"]["cpu"], ci["jobs"]["deploy"], ci["jobs"]["colab"]
    names = [step.get("run") or step.get("uses", "") for step in cpu["steps"]]
    upload_at = next(i for i, name in enumerate(names) if name.startswith("actions/upload-pages-artifact@"))
    assert names.index(CI_RUN) < upload_at, "the artifact must be the book make test checked"
    upload = cpu["steps"][upload_at]
    assert upload["with"]["path"] == "_build/html" and words(upload["if"]) == on_main
    for job in (deploy, colab):
        assert job["needs"] == "cpu" and words(job["if"]) == on_main
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"] == {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"}
    (step,) = deploy["steps"]
    assert step["id"] == "deployment" and step["uses"].startswith("actions/deploy-pages@")
    assert writes(cpu["permissions"]) == set()


def test_the_inventories_are_compared_with_the_published_ones_weekly_and_never_on_pushes(ci: dict[str, Any]):
    job = ci["jobs"]["inventories"]
    assert words(job["if"]) == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    assert ci["on"]["schedule"], "the weekly run"
    script = next(step["run"] for step in job["steps"] if "--published" in step.get("run", ""))
    assert "diff -u" in script and "exit 1" in script
    assert writes(job["permissions"]) == set(), "it reports; it does not push"


def test_the_checks_reject_bad_workflows(tmp_path: Path):
    broken, unsafe = tmp_path / "broken.yml", tmp_path / "unsafe.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    unsafe.write_text(UNSAFE, encoding="utf-8")

    rejected = check_schema("vendor.github-workflows", broken)
    assert rejected.returncode != 0 and "runs-on" in rejected.stdout, rejected.stdout + rejected.stderr
    # zizmor will not audit a file it cannot parse; with --strict-collection that fails the run, so a
    # workflow broken this way cannot slip past the audit above with no findings.
    assert zizmor(broken, config=False).returncode != 0

    assert check_schema("vendor.github-workflows", unsafe).returncode == 0  # valid, yet unsafe
    serious = {finding["ident"] for finding in findings(zizmor(unsafe, config=False)) if severity(finding) >= BLOCKING}
    assert {"unpinned-uses", "template-injection"} <= serious, serious

    workflow = load(unsafe)
    assert unpinned_uses(workflow) == ["actions/checkout@v4"]
    assert jobs_without_timeout(workflow) == ["greet"]
    assert len(expressions_in_scripts(workflow)) == 1
    assert writes(workflow.get("permissions")) == {"everything"}
