"""GPU graders without a GPU (issue 29): the CUDA-safe process model (a GPU
zygote never loads paddle or CUDA), the preflight's failure paths and the
--device auto fallback, the grader-fault rule (a worker that dies before the
student's code is the grader's failure), the GPU out-of-memory re-run, and a
student's own GPU calls on a CPU grading."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BOOK, ROOT, class_sources, notebook_from, write_notebook

from autograder.engine import GraderError, grade_notebook, open_sandbox
from autograder.grading import grade_safely
from autograder.sandbox.runner import Sandbox

ALICE = ROOT / "examples" / "submissions" / "alice.ipynb"


class ClaimsCuda(Sandbox):
    """A sandbox whose paddle says it is a CUDA build (the CPU paddle of CI):
    "gpu" and "auto" run the real preflight, which finds no GPU."""

    def start(self):
        if self.requested == "auto":        # what the zygote does for a CUDA build
            self.requested = "gpu"
        info = super().start()
        info["cuda"] = True
        return info


class GpuModelOnCpu(ClaimsCuda):
    """The whole GPU process model (zygote without paddle, workers importing
    it, the preflight) with the CPU as the workers' paddle device."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_device = "cpu"


def _maps(pid):
    return Path(f"/proc/{pid}/maps").read_text()


def test_gpu_zygote_never_loads_paddle_and_its_workers_grade_the_same(config, tmp_path):
    with open_sandbox(config, device="gpu", factory=GpuModelOnCpu,
                      workdir=tmp_path / "gpu") as sandbox:
        assert sandbox.device == "gpu" and sandbox.preflight_report.ok
        assert sandbox.preflight_report.setup_wall > 0 and sandbox.preflight_report.bench_cpu > 0
        assert "paddle" in sandbox.info["deferred"]
        result = grade_notebook(ALICE, config, sandbox=sandbox)
        zygote = _maps(sandbox.proc.pid)        # seen from outside, after the whole grading
    assert "paddle" not in zygote and "libcuda" not in zygote
    assert result.score == 100 and not result.grader_error
    assert result.staff["device"] == "gpu" and result.staff["preflight"]["ok"]
    # a GPU worker's start-up is added to its limits, never charged to the student
    assert all(q["setup"] > 0 for q in result.staff["profile"]["questions"].values())


def test_cpu_zygote_preloads_paddle_and_the_grader_never_imports_it(tmp_path):
    script = f"""
import sys
class NoPaddle:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'paddle':
            raise ImportError('the grader imported paddle')
sys.meta_path.insert(0, NoPaddle())
from autograder.engine import grade_notebook, open_sandbox
from autograder.config import load_config
cfg = load_config()
with open_sandbox(cfg, device='cpu') as box:
    scores = [grade_notebook(f'{ROOT}/examples/submissions/' + s + '.ipynb', cfg,
                             sandbox=box).score for s in ('alice', 'bob')]
    maps = open(f'/proc/{{box.proc.pid}}/maps').read()
print(scores, 'paddle' in maps, 'paddle' in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-4:] == ["[100.0,", "63.0]", "True", "False"], proc.stdout


def test_device_gpu_without_cuda_exits_2_with_a_results_file(tmp_path, short_config):
    results = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(ALICE),
                           "--device", "gpu", "--results", str(results), "--config",
                           str(short_config)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "Autograder failed" in data["output"]
    assert "not compiled with CUDA" in proc.stderr and "Traceback" not in proc.stderr


def test_preflight_finding_no_gpu_names_the_step_and_the_missing_gpu(config, tmp_path):
    result, code = grade_safely(ALICE, config, device="gpu", sandbox_factory=ClaimsCuda,
                                workdir=tmp_path / "w")
    assert code == 2 and result.score == 0
    assert "preflight failed at making the GPU paddle's device" in result.grader_error
    assert "no GPU is visible" in result.grader_error


def test_device_auto_falls_back_to_the_cpu_and_says_so(config, tmp_path, capfd):
    result = grade_notebook(ALICE, config, device="auto", sandbox_factory=ClaimsCuda,
                            workdir=tmp_path / "w")
    assert result.score == 100 and result.staff["device"] == "cpu"
    note = result.staff["device_note"]
    assert note.startswith("--device auto: grading on the CPU") and "no GPU is visible" in note
    assert note in capfd.readouterr().err
    assert result.staff["preflight"]["ok"] is False


class BadReferences(Sandbox):
    """A grader bug: the worker is asked to load a reference class that does not exist."""

    def run(self, question, statements, checks, limits, references=None, **kwargs):
        return super().run(question, statements, checks, limits, {"relu": "nowhere:Nothing"},
                           **kwargs)


def test_a_worker_dying_in_its_set_up_is_the_graders_failure(config, tmp_path):
    result, code = grade_safely(ALICE, config, sandbox_factory=BadReferences,
                                workdir=tmp_path / "w", device="cpu")
    assert code == 2 and result.score == 0
    assert "failed in its set-up (references), before the student's code started" in \
        result.grader_error
    assert "nowhere:Nothing" in result.grader_error


def test_a_students_own_exit_is_still_the_students(tmp_path, config):
    classes = class_sources(BOOK)
    classes["Dropout"] = classes["Dropout"].replace(
        "        mask = paddle.cast(", "        import os; os._exit(0)\n        mask = paddle.cast(")
    nb = write_notebook(notebook_from(classes), tmp_path / "exit.ipynb")
    result, code = grade_safely(nb, config, device="cpu")
    assert code == 0 and not result.grader_error
    by_question = {}
    for t in result.tests:
        by_question.setdefault(t.name.split(".")[0], []).append(t)
    assert all(t.score == 0 for t in by_question["q2_dropout"])
    assert any("exited early" in t.message for t in by_question["q2_dropout"])
    assert all(t.score == t.max_score for q in ("q1_relu", "q3_l2", "q4_weight_decay")
               for t in by_question[q])


def test_a_students_gpu_call_on_a_cpu_grading_fails_in_its_question_only(tmp_path, config):
    classes = class_sources(BOOK)
    classes["ReLU"] = classes["ReLU"].replace(
        "    def forward(self, inputs):\n",
        "    def forward(self, inputs):\n        paddle.set_device('gpu')\n", 1)
    classes["Dropout"] = classes["Dropout"].replace(
        "    def forward(self, inputs):\n",
        "    def forward(self, inputs):\n        inputs = inputs.cuda()\n", 1)
    assert "set_device('gpu')" in classes["ReLU"] and ".cuda()" in classes["Dropout"]
    nb = write_notebook(notebook_from(classes), tmp_path / "gpu.ipynb")
    result, code = grade_safely(nb, config, device="cpu")
    assert code == 0
    by_question = {}
    for t in result.tests:
        by_question.setdefault(t.name.split(".")[0], []).append(t)
    for question, call in (("q1_relu", "paddle.set_device('gpu')"), ("q2_dropout", ".cuda()")):
        forward = by_question[question][0]
        assert forward.score == 0, forward.message
        assert "this grading runs your code on the CPU" in forward.message
        assert call in forward.message
    assert all(t.score == t.max_score for q in ("q3_l2", "q4_weight_decay")
               for t in by_question[q])


class OutOfGpuMemoryOnce(Sandbox):
    """The first run of q1_relu reports CUDA's out-of-memory error from its probes
    (another grading held the GPU); runs are recorded with their ``alone``."""

    calls = []

    def run(self, question, statements, checks, limits, references=None, alone=False):
        report, probed, slice_report = super().run(question, statements, checks, limits,
                                                   references, alone)
        self.calls.append((question, alone))
        if question == "q1_relu" and not alone:
            for got in probed.values():
                got.outputs, got.error = None, ("ResourceExhaustedError: Out of memory error "
                                                "on GPU 0, cannot allocate 2.0GB memory")
        return report, probed, slice_report


def test_a_question_out_of_gpu_memory_runs_again_alone(config, tmp_path):
    with open_sandbox(config, device="cpu", factory=OutOfGpuMemoryOnce,
                      workdir=tmp_path / "w") as sandbox:
        sandbox.device = "gpu"                  # judged as a GPU grading
        sandbox.gpu_lock = tmp_path / "gpu.lock"
        result = grade_notebook(ALICE, config, sandbox=sandbox)
    assert result.score == 100
    assert [c for c in sandbox.calls if c[0] == "q1_relu"] == [("q1_relu", False),
                                                                ("q1_relu", True)]
    assert result.staff["questions"]["gpu_oom_reruns"] == ["q1_relu"]


def test_the_preflight_report_reads_the_workers_json_defensively():
    from autograder.sandbox.protocol import Preflight

    report = Preflight.from_json({"ok": True, "setup_cpu": "x", "setup_wall": 1.5, "junk": 1},
                                 paddle="2.6.2")
    assert report.setup_cpu == 0.0 and report.setup_wall == 1.5 and report.paddle == "2.6.2"
    assert "failed at importing paddle" in Preflight(False, "paddle", "why").message()


def test_check_no_fork_after_cuda_reads_strace_logs(tmp_path):
    log = tmp_path / "T"
    script = str(ROOT / "scripts" / "check_no_fork_after_cuda.py")
    clean = ("100 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 101\n"
             "101 execve(\"/usr/bin/python\", [\"python\"], 0x1 /* 3 vars */) = 0\n"
             "101 openat(AT_FDCWD, \"/usr/lib/libcuda.so.1\", O_RDONLY|O_CLOEXEC) = -1 ENOENT\n"
             "101 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, "
             "exit_signal=0} <unfinished ...>\n"
             "101 <... clone3 resumed> => {parent_tid=[102]}, 88) = 102\n"
             "100 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 103\n")
    log.write_text(clean)
    ok = subprocess.run([sys.executable, script, str(log)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    log.write_text(clean + "102 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 104\n")
    bad = subprocess.run([sys.executable, script, str(log)], capture_output=True, text=True)
    assert bad.returncode == 1 and "process 101 forked 104" in bad.stdout


@pytest.mark.parametrize("requested", ["cpu", "auto"])
def test_a_cpu_build_grades_on_the_cpu_without_a_preflight(config, tmp_path, requested):
    with open_sandbox(config, device=requested, workdir=tmp_path / requested) as sandbox:
        assert sandbox.device == "cpu" and sandbox.preflight_report is None
        assert sandbox.device_note == ""
    with pytest.raises(GraderError, match="not compiled with CUDA"):
        with open_sandbox(config, device="gpu", workdir=tmp_path / "g"):
            pass


def test_the_batch_report_says_why_a_gpu_was_not_used(config, lab):
    from autograder.batch.gradebook import Entry, question_maxima
    from autograder.batch.report import render_report
    from autograder.results import GradingResult

    note = "--device auto: grading on the CPU, not the GPU: GPU preflight failed at X: no GPU"
    results = [GradingResult(submission=s, staff={"device_note": note}) for s in ("a", "b")]
    entries = [Entry(s, s, "graded", "", r) for s, r in zip(("a", "b"), results)]
    page = render_report(entries, question_maxima(config, lab))
    assert page.count("grading on the CPU, not the GPU") == 1
    assert "grading on the CPU" not in render_report(entries[:0], question_maxima(config, lab))
