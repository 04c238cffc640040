"""End to end: grade.py on whole notebooks, in the sandbox, including
adversarial ones. Each misbehaviour must cost only its own question."""

import json
import subprocess
import sys

import pytest

from conftest import (BOOK, IMPORTS, ROOT, assert_stopped_cleanly, class_sources,
                      notebook_from, per_question, processes_named, set_name, unique_name,
                      wait_for, with_sigint, write_notebook)



def grade(nb_path, results, config, *extra):
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), str(nb_path), "--results",
                           str(results), "--config", str(config), *extra],
                          capture_output=True, text=True, timeout=600)
    data = json.loads(results.read_text())
    return proc, data


def outputs_of(data, question):
    return " | ".join(t["output"] for t in data["tests"] if t["name"].startswith(question))


def book_with(**replacements):
    classes = class_sources(BOOK)
    for name, src in replacements.items():
        if src is None:
            classes.pop(name)
        else:
            classes[name] = src
    return classes


def reading(graded_source, name):
    """``graded_source`` (a graded class) with a method that reads ``name``, so
    that the statement defining ``name`` is in the class's slice and runs when
    its question is graded: a statement no graded class needs never runs."""
    return graded_source.rstrip("\n") + f"\n\n    def _uses_{name}(self):\n        return {name}\n"


def question_log(results, question):
    """What the notebook's code printed while ``question`` was graded (staff file)."""
    staff = json.loads(results.with_name(results.stem + ".staff.json").read_text())
    return staff["questions"][question]["output"]


def test_book_code_scores_full_marks_fast_whatever_the_experiment_cells(tmp_path, short_config):
    nb = notebook_from(book_with(), extra_cells=[
        "import time\ntime.sleep(3600)",                       # a ten-minute experiment
        "for i in range(10**12):\n    pass",
        "raise RuntimeError('crash in an experiment cell')"])
    proc, data = grade(write_notebook(nb, tmp_path / "book.ipynb"), tmp_path / "r.json",
                       short_config)
    assert proc.returncode == 0, proc.stderr
    assert data["score"] == 100, data["output"]
    assert all(t["name"].split(".")[0] in ("q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay")
               for t in data["tests"])
    assert "Total: 100 / 100" in proc.stdout


def test_hang_exit_and_flood_cost_only_their_questions(tmp_path, short_config):
    classes = book_with(
        ReLU=class_sources(BOOK)["ReLU"].replace(
            "        return paddle.multiply(outputs_grads,",
            "        while True:\n            pass\n        return paddle.multiply(outputs_grads,"),
        Dropout=class_sources(BOOK)["Dropout"].replace(
            "        mask = paddle.cast(", "        import os; os._exit(0)\n        mask = paddle.cast("),
        BatchGD=class_sources(BOOK)["BatchGD"].replace(
            "        x = (1 - self.weight_decay)",
            "        if not getattr(BatchGD, 'spammed', False):\n"
            "            BatchGD.spammed = True\n"
            "            print('spam ' * 10_000_000)  # 50 MB, once\n"
            "        x = (1 - self.weight_decay)"),
    )
    proc, data = grade(write_notebook(notebook_from(classes), tmp_path / "a.ipynb"),
                       tmp_path / "r.json", short_config)
    assert proc.returncode == 0
    scores = per_question(data)
    assert scores == {"q1_relu": 4, "q2_dropout": 0, "q3_l2": 25, "q4_weight_decay": 25}, scores
    assert "time limit" in outputs_of(data, "q1_relu.backward_fd")
    assert "exited early" in outputs_of(data, "q2_dropout.forward_stats")
    assert (tmp_path / "r.json").stat().st_size < 1_000_000
    staff = json.loads((tmp_path / "r.staff.json").read_text())
    log = staff["questions"]["q4_weight_decay"]["output"]
    assert "spam" in log and len(log) <= 64 * 1024 + 200


def test_forgery_cannot_change_the_score(tmp_path, short_config):
    results = tmp_path / "r.json"
    forged = json.dumps({"score": 100, "tests": []})
    relu = class_sources(BOOK)["ReLU"].replace(
        "return paddle.multiply(outputs_grads, paddle.to_tensor(self.inputs > 0, dtype='float32'))",
        "return outputs_grads")  # wrong: no mask
    evil = f'''class Evil:
    import numpy, json, pathlib, sys
    print("EVIL-RAN")
    numpy.allclose = lambda *a, **k: True
    numpy.max = lambda *a, **k: 0.0
    numpy.abs = lambda x, *a, **k: x * 0
    try:                                  # refused: the checks are the grader's modules
        import nndl.checks.q1_relu as _m, nndl.checks.gradcheck as _g
        _m.TOL = 1e9
        _g.scaled_error = lambda *a: 0.0
    except ImportError:
        print("CHECKS-HIDDEN")
    def _forged_savez(file, _savez=numpy.savez, **arrays):   # right answers from the inputs
        import numpy, sys
        inputs = sys._getframe(1).f_locals.get("inputs", {{}})
        if "x" in inputs and "out" in arrays:
            arrays["out"] = numpy.maximum(inputs["x"], 0)
        if "g" in inputs and "grad" in arrays:
            arrays["grad"] = inputs["g"] * (inputs["x"] > 0)
        return _savez(file, **arrays)
    numpy.savez = _forged_savez
    print({forged!r})
    sys.__stdout__.write({forged!r})
    for _p in [{str(results)!r}, "results.json", "../results.json", "../../results.json"]:
        try:
            pathlib.Path(_p).write_text({forged!r})
        except OSError:
            pass
'''
    classes = {"Evil": evil, **book_with(ReLU=reading(relu, "Evil"))}
    proc, data = grade(write_notebook(notebook_from(classes), tmp_path / "f.ipynb"), results,
                       short_config)
    assert proc.returncode == 0
    log = question_log(results, "q1_relu")
    assert "EVIL-RAN" in log and "CHECKS-HIDDEN" in log and "Traceback" not in log, log
    scores = per_question(data)
    assert scores["q1_relu"] < 25 and scores["q2_dropout"] == 25, scores
    assert data["score"] < 100
    assert "unchanged" in outputs_of(data, "q1_relu.backward_fd")


def test_syntax_error_and_missing_class(tmp_path, short_config):
    classes = book_with(ReLU="class ReLU(Op):\n    def forward(self, inputs)\n        return 1",
                        Dropout=None)
    proc, data = grade(write_notebook(notebook_from(classes), tmp_path / "s.ipynb"),
                       tmp_path / "r.json", short_config)
    assert proc.returncode == 0
    assert per_question(data) == {"q1_relu": 0, "q2_dropout": 0, "q3_l2": 25,
                                  "q4_weight_decay": 25}
    assert "syntax error" in data["output"]
    assert "class Dropout could not be graded: it is not defined" in outputs_of(
        data, "q2_dropout.forward_stats")


def test_segfault_and_memory_blowup(tmp_path, short_config):
    classes = book_with(
        BinaryCrossEntropyWithLogits=class_sources(BOOK)["BinaryCrossEntropyWithLogits"].replace(
            "        self.predicts = self.logistic(logits)",
            "        import ctypes; ctypes.string_at(0)\n        self.predicts = self.logistic(logits)"),
        BatchGD=class_sources(BOOK)["BatchGD"].replace(
            "        x = (1 - self.weight_decay)",
            "        hog = [bytearray(2**28) for _ in range(64)]\n        x = (1 - self.weight_decay)"),
    )
    proc, data = grade(write_notebook(notebook_from(classes), tmp_path / "c.ipynb"),
                       tmp_path / "r.json", short_config)
    assert proc.returncode == 0
    scores = per_question(data)
    assert scores == {"q1_relu": 25, "q2_dropout": 25, "q3_l2": 0, "q4_weight_decay": 0}, scores
    assert "crashed" in outputs_of(data, "q3_l2.loss_value")


@pytest.mark.parametrize("content", [b"", b"{oops", b"not a notebook at all"])
def test_bad_files_get_a_results_file_and_exit_zero(tmp_path, content, short_config, config):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    proc, data = grade(path, tmp_path / "r.json", short_config)
    assert proc.returncode == 0
    assert data["score"] == 0 and len(data["tests"]) == len(config.checks)
    assert "Traceback" not in proc.stdout + proc.stderr


def test_gpu_without_cuda_fails_clearly_with_results(tmp_path, short_config):
    import paddle

    if paddle.is_compiled_with_cuda():
        pytest.skip("this paddle has CUDA")
    nb = write_notebook(notebook_from(book_with()), tmp_path / "g.ipynb")
    proc, data = grade(nb, tmp_path / "r.json", short_config, "--device", "gpu")
    assert proc.returncode == 2
    assert "not compiled with CUDA" in proc.stderr
    assert data["score"] == 0 and "Autograder failed" in data["output"]


def test_sandbox_blocks_writes_network_and_signals(tmp_path, short_config):
    """Student code runs as the grader's user here, yet (with Landlock) it can
    write only beneath its own question's folder, open no TCP connection and
    signal no process outside itself: killing the zygote or the grader fails."""
    canary = tmp_path / "canary.txt"
    listener = __import__("socket").socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    evil = f'''class Evil:
    import os, socket, signal, pathlib
    print("EVIL-RAN")
    try:
        pathlib.Path({str(canary)!r}).write_text("written by student code")
    except OSError:
        pass
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
    except OSError:
        pass
    for _target in (os.getppid(), 0):
        try:
            os.kill(_target, signal.SIGKILL) if _target else os.killpg(os.getpgid(os.getppid()), 9)
        except OSError:
            pass
'''
    relu = reading(class_sources(BOOK)["ReLU"], "Evil")
    nb = write_notebook(notebook_from({"Evil": evil, **book_with(ReLU=relu)}),
                        tmp_path / "e.ipynb")
    proc, data = grade(nb, tmp_path / "r.json", short_config)
    staff = json.loads((tmp_path / "r.staff.json").read_text())
    note = staff.get("sandbox", "")
    listener.settimeout(0.5)
    try:
        conn, _ = listener.accept()
        leaked = conn.recv(10)
    except OSError:
        leaked = b""
    if "no signals outside" not in note:
        pytest.skip(f"this kernel's Landlock is not enough: {note!r}")
    assert proc.returncode == 0
    assert "EVIL-RAN" in question_log(tmp_path / "r.json", "q1_relu")
    assert data["score"] == 100, data["output"]
    assert not canary.exists()
    assert leaked == b""


def test_constants_made_by_calls_are_run(tmp_path, short_config):
    """The old grader ran only 'constant-like' assignments and dropped this one:
    a constant the class needs is now in its slice, whatever its right-hand side."""
    relu = class_sources(BOOK)["ReLU"].replace(
        "return paddle.multiply(inputs, paddle.to_tensor(inputs > 0, dtype='float32'))",
        "return paddle.multiply(inputs, paddle.to_tensor(inputs > THRESHOLD, dtype='float32'))")
    nb = notebook_from(book_with(ReLU=relu),
                       extra_cells=["HALF = 1 / 2\nTHRESHOLD = float(np.zeros(1).sum())"])
    nb.cells.insert(2, nb.cells.pop())      # the constants before the classes
    proc, data = grade(write_notebook(nb, tmp_path / "d.ipynb"), tmp_path / "r.json",
                       short_config)
    assert per_question(data) == {"q1_relu": 25, "q2_dropout": 25, "q3_l2": 25,
                                  "q4_weight_decay": 25}, data["output"]


def test_grader_internals_are_out_of_reach(tmp_path, short_config):
    """Importing, finding or reading the reference implementation from the
    notebook gets nothing: classes that delegate to it score 0. Tried: import,
    sys.modules, Op.__subclasses__(), object.__subclasses__() walk, gc, the
    frames up the call stack, __globals__ of the model's methods, the files."""
    folder = str(ROOT / "autograder")
    finder = f'''def _reference(name, model=None):
    import gc, importlib, sys
    import nndl.op

    def walk_subclasses():
        seen, todo = set(), [object]
        while todo:
            for sub in type.__subclasses__(todo.pop()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
                    yield sub

    def frames():
        f = sys._getframe(1)
        while f is not None:
            yield from list(f.f_locals.values()) + list(f.f_globals.values())
            f = f.f_back

    def from_globals(objects):
        for obj in objects:
            for attr in ("forward", "backward", "step", "__call__"):
                g = getattr(getattr(type(obj), attr, None), "__globals__", {{}})
                if isinstance(g.get(name), type):
                    return g[name]
            for item in (obj if isinstance(obj, (list, tuple)) else [obj]):
                g = getattr(item, "__globals__", None) or {{}}
                for v in list(g.values()):
                    if isinstance(v, dict) and isinstance(v.get(name), type):
                        return v[name]

    routes = [
        lambda: getattr(importlib.import_module(
            "autograder.questions.%s.reference" % ("q1_relu" if name == "ReLU"
                                                   else "q4_weight_decay")), name),
        lambda: [c for c in sys.modules["autograder.reference"].PARTS.values()
                 if c.__name__ == name][0],
        lambda: [c for c in getattr(model, "__class__", object).__init__.__globals__.get(
            "PARTS", {{}}).values() if c.__name__ == name][0],
        lambda: [c for c in nndl.op.Op.__subclasses__() if c.__name__ == name
                 and c.__module__ != "__notebook__"][0],
        lambda: [c for c in walk_subclasses() if c.__name__ == name
                 and c.__module__.startswith("autograder")][0],
        lambda: [o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == name
                 and o.__module__.startswith("autograder")][0],
        lambda: from_globals(frames()),
        lambda: from_globals([model]),
    ]
    for route in routes:
        try:
            found = route()
            if found is not None:
                return found
        except Exception:
            pass
    ns = {{"__name__": "stolen"}}
    base = open({folder!r} + "/reference/base.py").read()
    question = {{"ReLU": "q1_relu", "BatchGD": "q4_weight_decay"}}[name]
    exec(base + open({folder!r} + "/questions/" + question + "/reference.py").read().replace(
        "from autograder.reference.base import Operator", ""), ns)
    return ns[name]
'''
    relu = '''class ReLU(Op):
    def forward(self, x):
        self.r = _reference("ReLU")()
        return self.r.forward(x)

    def backward(self, g):
        return self.r.backward(g)
'''
    batchgd = '''class BatchGD(Optimizer):
    def __init__(self, init_lr, model, weight_decay):
        self.r = _reference("BatchGD", model)(init_lr, model, weight_decay)

    def gradient_descent(self, x, g, lr):
        return self.r.gradient_descent(x, g, lr)

    def step(self):
        return self.r.step()
'''
    nb = notebook_from({"finder": finder, **book_with(ReLU=relu, BatchGD=batchgd)},
                       extra_cells=["from autograder.reference import Dropout"])
    proc, data = grade(write_notebook(nb, tmp_path / "cheat.ipynb"), tmp_path / "r.json",
                       short_config)
    scores = per_question(data)
    assert scores == {"q1_relu": 0, "q2_dropout": 25, "q3_l2": 25, "q4_weight_decay": 0}, \
        (scores, data["output"])
    assert "may not import the grader" in data["output"]


def test_a_lethal_class_body_costs_only_its_question(tmp_path, short_config):
    classes = book_with(
        Dropout=class_sources(BOOK)["Dropout"].replace(
            "class Dropout(Op):", "class Dropout(Op):\n    while True:\n        pass"),
        BatchGD=class_sources(BOOK)["BatchGD"].replace(
            "class BatchGD(Optimizer):", "class BatchGD(Optimizer):\n    import os\n    os._exit(0)"))
    proc, data = grade(write_notebook(notebook_from(classes), tmp_path / "l.ipynb"),
                       tmp_path / "r.json", short_config)
    assert proc.returncode == 0
    assert per_question(data) == {"q1_relu": 25, "q2_dropout": 0, "q3_l2": 25,
                                  "q4_weight_decay": 0}, data["output"]
    assert "did not finish within" in data["output"] and "ended the program" in data["output"]
    assert "skipped" in outputs_of(data, "q2_dropout.forward_stats")


def test_no_process_outlives_grading_and_no_udp(tmp_path, short_config):
    import socket

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)      # loopback queues a datagram during sendto: no need to wait
    port = udp.getsockname()[1]
    name = unique_name()             # not another test run's daemon
    daemon = f'''class Daemon:
    import os, time, ctypes, socket
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"leak", ("127.0.0.1", {port}))
    except OSError:
        pass
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            {set_name(name)}
            time.sleep(300)
        os._exit(0)
    print("DAEMON-STARTED")
'''
    nb = notebook_from({"Daemon": daemon,
                        **book_with(ReLU=reading(class_sources(BOOK)["ReLU"], "Daemon"))})
    proc, data = grade(write_notebook(nb, tmp_path / "d.ipynb"), tmp_path / "r.json",
                       short_config)
    assert "DAEMON-STARTED" in question_log(tmp_path / "r.json", "q1_relu")
    assert data["score"] == 100, data["output"]
    assert processes_named(name) == []
    try:
        leaked = udp.recv(16)
    except OSError:
        leaked = b""
    assert leaked == b""


def test_files_forged_by_the_worker_cannot_fail_the_grader(tmp_path, short_config):
    """A forged progress mark ('²' passes str.isdigit) and 100 000-deep status files,
    written through the worker's own open files (it can create files only in its
    scratch folder), cost only that student's question; the grader does not fail."""
    forger = '''def forge():
    import os
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
            if target.endswith("/progress"):
                os.pwrite(int(fd), "\\u00b2".encode() + b"      ", 0)
            elif target.endswith(".status.json"):
                os.pwrite(int(fd), b"[" * 100000, 0)
        except OSError:
            pass
    os._exit(0)
'''
    relu = class_sources(BOOK)["ReLU"].replace("        self.inputs = inputs\n",
                                               "        self.inputs = inputs\n        forge()\n")
    nb = notebook_from({"forge": forger, **book_with(ReLU=relu)})
    proc, data = grade(write_notebook(nb, tmp_path / "f.ipynb"), tmp_path / "r.json",
                       short_config)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Autograder failed" not in data["output"]
    scores = per_question(data)
    assert scores["q1_relu"] == 0 and scores["q2_dropout"] == 25, scores


def test_ctrl_c_stops_a_grading_and_leaves_nothing_running(tmp_path, patient_config):
    """Ctrl-C (or SIGTERM) while a statement of the notebook runs: exit 130 with
    a one-line message, no results file, and nothing left of the sandbox: no
    process (not even a daemon the student's code started in a new session),
    no temporary folder. The statement starts the daemon, then waits forever (the
    patient config's limits are far away), so the signal always comes while it
    runs; the grader gets SIGINT at its default from the test, whatever the test
    run has."""
    import os
    import signal

    name = unique_name()
    daemon = f"""class Daemon:
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            {set_name(name)}
            time.sleep(300)
        os._exit(0)
    while True:
        time.sleep(1)
"""
    nb = write_notebook(notebook_from(
        {"Daemon": daemon, **book_with(ReLU=reading(class_sources(BOOK)["ReLU"], "Daemon"))}),
        tmp_path / "d.ipynb")
    scratch, results = tmp_path / "tmp", tmp_path / "r.json"
    scratch.mkdir()
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([sys.executable, str(ROOT / "grade.py"), str(nb), "--results",
                                 str(results), "--config", str(patient_config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env={**os.environ, "TMPDIR": str(scratch)},
                                preexec_fn=with_sigint(signal.SIG_DFL))
        try:
            wait_for("the daemon's start", proc, lambda: processes_named(name))
            os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
            assert_stopped_cleanly(proc, [name], results, scratch)
        finally:
            proc.kill()
            proc.wait()
            for pid in processes_named(name):
                os.kill(pid, signal.SIGKILL)


def test_rewriting_the_progress_mark_does_not_restart_a_statements_clock(tmp_path):
    """A statement that keeps rewriting the worker's progress mark ("s 13", then
    "s 013": the same statement) and ignores SIGALRM is still stopped at the
    statement time limit (5 s), not at the question's (at least 76 s here, so
    that the two cannot be confused on a slow or busy machine; the submission's
    3000 s leave the re-run without the statement its time)."""
    text = (ROOT / "autograder" / "grading.toml").read_text()
    for old, new in (("time_limit_factor = 15", "time_limit_factor = 10000"),
                     ("total_time_limit = 420", "total_time_limit = 3000")):
        assert old in text
        text = text.replace(old, new)
    config = tmp_path / "grading.toml"
    config.write_text(text)
    burner = '''class Burner:
    import os, signal, time
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    for _f in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + _f).endswith("/progress"):
                _fd = int(_f)
        except OSError:
            pass
    _n = os.pread(_fd, 16, 0).decode().strip()[2:]
    _t0, _i = time.time(), 0
    while time.time() - _t0 < 120:
        os.pwrite(_fd, (("s " + _n) if _i % 2 else ("s 0" + _n)).encode().ljust(16), 0)
        _i += 1
        time.sleep(0.2)
'''
    nb = notebook_from({"Burner": burner,
                        **book_with(ReLU=reading(class_sources(BOOK)["ReLU"], "Burner"))})
    proc, data = grade(write_notebook(nb, tmp_path / "b.ipynb"), tmp_path / "r.json", config)
    assert proc.returncode == 0, proc.stderr[-2000:]
    problem = [line for line in data["output"].splitlines() if "class Burner" in line]
    assert problem and "did not finish within" in problem[0], data["output"]
    assert "question's time limit" not in problem[0], problem[0]
    assert per_question(data)["q1_relu"] == 25, data["output"]   # graded without it


def test_a_question_that_keeps_hanging_leaves_the_others_their_time(tmp_path):
    """Four statements of ReLU's slice each hang past the statement limit and kill
    their worker: the question is re-run without them only while that leaves the
    later questions the time of their first run (here, not at all), so the
    whole-submission time limit costs the hanging question, not the others.
    Here the later questions' limits (at least 3 x 126 s: 100 s of CPU each) are
    more than the 200 s of the submission: whatever the machine's speed, the
    question is not re-run, and the others have far more time than they need."""
    text = (ROOT / "autograder" / "grading.toml").read_text()
    for old, new in (("statement_time_limit = 5", "statement_time_limit = 3"),
                     ("time_limit_factor = 15", "time_limit_factor = 10000"),
                     ("question_time_limit = 60", "question_time_limit = 100"),
                     ("total_time_limit = 420", "total_time_limit = 200")):
        assert old in text
        text = text.replace(old, new)
    config = tmp_path / "grading.toml"
    config.write_text(text)
    hangs = {f"H{i}": f"H{i} = signal.signal(signal.SIGALRM, signal.SIG_IGN) and "
                      "time.sleep(600) or 1" for i in range(4)}     # each kills its worker
    relu = class_sources(BOOK)["ReLU"].replace(
        "        self.inputs = inputs\n",
        "        self.inputs = inputs * (H0 + H1 + H2 + H3) / 4\n")
    assert "H0 + H1" in relu
    nb = notebook_from({**hangs, **book_with(ReLU=relu)},
                       imports=IMPORTS + "\nimport signal, time")
    proc, data = grade(write_notebook(nb, tmp_path / "h.ipynb"), tmp_path / "r.json", config)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores = per_question(data)
    assert scores["q1_relu"] < 25
    assert [scores[q] for q in ("q2_dropout", "q3_l2", "q4_weight_decay")] == [25, 25, 25], \
        data["output"]
    staff = json.loads((tmp_path / "r.staff.json").read_text())
    assert len(staff["questions"]["q1_relu"]["skipped"]) == 1     # run once: no re-run
