"""A submission's kernel cannot reach the course, other students or the network.

Real nbgrader, real kernels, ``python -m autograder grade`` in a separate process. A spying
student, who knows every path of the course, tries to read the lab's source notebook (solutions
and hidden tests) and the gradebook, to list the other students' submissions and the released
lab, to connect to a port this test listens on at 127.0.0.1, to resolve a name and to reach an
outside address; each attempt's outcome is printed in its notebook. The same spy graded without
isolation (``c.Sandbox.enabled = False``) reads and connects: the attempts are real.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import sample_course, submit_sample

from autograder import sandbox
from autograder.__main__ import main
from autograder.course import Course, UsageError
from autograder.pipeline import grade
from autograder.sample_lab import LAB
from autograder.sandbox import Sandbox, kernel_uid, private_folder

REPO = Path(__file__).resolve().parents[2]
HONEST = {"add": "def add(a, b):\n    return a + b", "square": "def square(x):\n    return x * x"}
MARKER = "grader-token-4471"
"""The value of an environment variable of the grader (an LMS token, say)."""
LIMITS = "c.Sandbox.cpu_seconds = 100\nc.Sandbox.memory_mb = 1536\nc.Sandbox.tasks = 40\n"

SPY = """
import json, os, resource, socket

def attempt(action):
    try:
        return "got " + repr(action())[:80]
    except Exception as err:
        return f"refused: {type(err).__name__}: {err}"

spied = {
    "source": attempt(lambda: open(WHERE["source"]).read()),
    "gradebook": attempt(lambda: open(WHERE["gradebook"], "rb").read()),
    "students": attempt(lambda: os.listdir(WHERE["submitted"])),
    "release": attempt(lambda: os.listdir(WHERE["release"])),
    "course": attempt(lambda: os.listdir(WHERE["course"])),
    "autograded": attempt(lambda: os.listdir(WHERE["course"] + "/autograded")),
    "home": attempt(lambda: os.listdir(os.path.expanduser("~root"))),
    "loopback": attempt(lambda: socket.create_connection(("127.0.0.1", WHERE["port"]), 5)),
    "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
    "outside": attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=5)),
    "planted": attempt(lambda: open("planted.txt", "w").write("x")),
}
def environments():
    texts = [repr(dict(os.environ))]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            texts.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
    return texts

spied["environment"] = ("has the grader's" if any(WHERE["marker"] in t for t in environments())
                        else "clean")
limits = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))
          for name in ("CPU", "AS", "NPROC")}
print("SPIED" + json.dumps({"spied": spied, "limits": limits, "uid": os.getuid()}))

def add(a, b):
    return a + b
"""


def _spy_code(labs: Path, port: int) -> str:
    where = {"source": str(labs / "source" / LAB / f"{LAB}.ipynb"),
             "gradebook": str(labs / "gradebook.db"), "submitted": str(labs / "submitted"),
             "release": str(labs / "release"), "course": str(labs), "port": port,
             "marker": MARKER}
    return f"WHERE = {where!r}\n{SPY}"


def _graded_course(root: Path, extra: str) -> tuple[Path, dict, bool]:
    """A course with an honest student and a spy, graded through the command line while this
    process listens at 127.0.0.1; returns the course, what the spy saw, and whether anything
    connected to the listening port."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        labs = sample_course(root, extra)
        submit_sample(labs, "honest", HONEST)
        submit_sample(labs, "spy", {**HONEST, "add": _spy_code(labs, server.getsockname()[1])})
        proc = subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs),
                               "grade", LAB, "--jobs", "2", "--no-progress"],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "LMS_TOKEN": MARKER})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        server.setblocking(False)
        try:
            server.accept()[0].close()
            connected = True
        except BlockingIOError:
            connected = False
    graded = nbformat.read(labs / "autograded" / "spy" / LAB / f"{LAB}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
    spied = json.loads(text.split("SPIED", 1)[1].splitlines()[0])
    return labs, spied, connected


@pytest.fixture(scope="module")
def isolated(tmp_path_factory) -> tuple[Path, dict, bool]:
    return _graded_course(tmp_path_factory.mktemp("isolated"), LIMITS)


@pytest.fixture(scope="module")
def unisolated(tmp_path_factory) -> tuple[Path, dict, bool]:
    return _graded_course(tmp_path_factory.mktemp("unisolated"), "c.Sandbox.enabled = False\n")


def _scores(labs: Path) -> dict[str, float]:
    with Course.open(labs, "test").gradebook() as gb:
        return {s: gb.find_submission(LAB, s).score for s in ("honest", "spy")}


@pytest.mark.parametrize("what", ["source", "gradebook", "students", "release", "home"])
def test_the_kernel_cannot_read_the_course_or_the_home_folder(isolated, unisolated, what):
    _, spied, _ = isolated
    assert spied["spied"][what].startswith("refused: FileNotFoundError"), spied["spied"][what]
    if what != "home" or os.geteuid() == 0:  # without isolation the grader's own rights
        assert unisolated[1]["spied"][what].startswith("got "), unisolated[1]["spied"][what]


def test_the_course_folder_holds_only_the_path_to_the_kernels_own_submission(isolated,
                                                                             unisolated):
    assert isolated[1]["spied"]["course"] == "got ['autograded']"
    assert isolated[1]["spied"]["autograded"] == "got ['spy']"
    assert "gradebook.db" in unisolated[1]["spied"]["course"]
    assert "honest" in unisolated[1]["spied"]["autograded"]


def test_the_kernel_cannot_connect_to_the_graders_loopback_nor_outside(isolated, unisolated):
    _, spied, connected = isolated
    assert not connected
    assert spied["spied"]["loopback"].startswith("refused: ConnectionRefusedError")
    assert spied["spied"]["dns"].startswith("refused: gaierror")
    assert spied["spied"]["outside"].startswith("refused: OSError: [Errno 101] Network is "
                                                "unreachable")
    assert unisolated[2] and unisolated[1]["spied"]["loopback"].startswith("got ")


def test_the_kernel_sees_none_of_the_graders_environment(isolated, unisolated):
    assert isolated[1]["spied"]["environment"] == "clean"
    assert unisolated[1]["spied"]["environment"] == "has the grader's"


def test_the_kernel_writes_in_a_scratch_copy_and_runs_under_the_configured_limits(isolated):
    labs, spied, _ = isolated
    assert spied["spied"]["planted"] == "got 1"
    assert not (labs / "autograded" / "spy" / LAB / "planted.txt").exists()
    assert spied["limits"] == {"CPU": [100, 105], "AS": [1536 * 2**20] * 2, "NPROC": [40, 40]}
    assert spied["uid"] != 0


def test_honest_and_spying_submissions_get_their_marks(isolated, unisolated):
    assert _scores(isolated[0]) == {"honest": 5.0, "spy": 5.0}
    assert _scores(unisolated[0]) == {"honest": 5.0, "spy": 5.0}


def test_the_report_says_when_isolation_was_off(isolated, unisolated):
    status = json.loads((isolated[0] / "reports" / f"{LAB}_status.json").read_text())
    assert status["honest"]["notes"] == [] and status["spy"]["notes"] == []
    report = (unisolated[0] / "reports" / f"{LAB}.md").read_text()
    for student in ("honest", "spy"):
        assert f"* {student}: graded without isolation (c.Sandbox.enabled = False)" in report


def test_grading_refuses_without_bubblewrap_and_says_how_to_install_it(isolated, monkeypatch,
                                                                      capsys):
    labs = isolated[0]
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # no bwrap there
    with pytest.raises(UsageError, match=r"bubblewrap \(bwrap\) is not on PATH: install "
                                         r"bubblewrap \(Debian, Ubuntu: sudo apt-get install "
                                         r"bubblewrap.*c\.Sandbox\.enabled = False"):
        grade(Course.open(labs, "grade"), LAB, progress=False, say=lambda _: None)
    assert main(["--course", str(labs), "grade", LAB, "--no-progress"]) == 2
    assert "grade: bubblewrap (bwrap) is not on PATH" in capsys.readouterr().err


def test_a_link_out_of_the_kernels_folder_leads_nowhere(tmp_path):
    """nbgrader copies submitted files (following links), so this is the sandbox's own guard:
    of the kernel's folder, only what lies inside it is bound."""
    (tmp_path / "secret.txt").write_text("solution")
    work, private = tmp_path / "work", tmp_path / "private"
    work.mkdir()
    private.mkdir()
    (work / "data.txt").write_text("given")
    (work / "link.txt").symlink_to(tmp_path / "secret.txt")
    uid = kernel_uid()
    if uid is not None:
        os.chown(private, uid, uid)
    code = ("import os\nfor name in ('data.txt', 'link.txt'):\n"
            "    print(name, open(name).read() if os.path.exists(name) else 'absent')")
    sandbox = Sandbox()
    proc = subprocess.run(sandbox.command([sys.executable, "-c", code], cwd=str(work),
                                          private=private, uid=uid),
                          env=sandbox.environment(), capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines() == ["data.txt given", "link.txt absent"], proc.stderr


# What a kernel does to the file system, run by GRADER below: its uid, whether it can read a
# course file, write in the system's folders, and how much it can write in each scratch folder
# (4 MiB files, 1 MiB at a time) and how many threads it can start.
KERNEL = """
import errno, json, os, sys, threading, time

def plant(folder):
    try:
        open(os.path.join(folder, "planted"), "w").close()
        return "wrote"
    except OSError as err:
        return errno.errorcode[err.errno]

def fill(folder):
    written = 0
    try:
        for i in range(100):
            with open(os.path.join(folder, f"fill{i}"), "wb") as f:
                for _ in range(4):
                    f.write(bytes(2**20))
                    written += 1
    except OSError as err:
        return [written, errno.errorcode[err.errno]]
    return [written, "no error"]

def threads():
    started = 0
    try:
        for _ in range(200):
            threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    return started

try:
    course = open(sys.argv[1]).read()
except OSError as err:
    course = errno.errorcode[err.errno]
print(json.dumps({"uid": os.getuid(), "course": course, "threads": threads(),
                  "planted": {f: plant(f) for f in ("/", "/dev", "/usr", "/etc")},
                  "filled": {f: fill(f) for f in ("/tmp", "/dev/shm", ".")}}))
"""

# A grader: makes a course file, a kernel folder and a private folder, and runs KERNEL in the
# sandbox with 16 MiB of scratch per folder and 20 tasks.
GRADER = f"""
import json, os, subprocess, sys, tempfile
from pathlib import Path
from autograder.sandbox import Sandbox, kernel_uid

with tempfile.TemporaryDirectory() as tmp:
    course, work, private = (Path(tmp, name) for name in ("course", "work", "private"))
    for folder in (course, work, private):
        folder.mkdir()
    (course / "solutions.txt").write_text("the answers")
    uid = kernel_uid()
    if uid is not None:
        os.chown(private, uid, uid)
    sandbox = Sandbox(scratch_mb=16, tasks=20)
    argv = [sys.executable, "-c", {KERNEL!r}, str(course / "solutions.txt")]
    proc = subprocess.run(sandbox.command(argv, cwd=str(work), private=private, uid=uid),
                          env=sandbox.environment(), capture_output=True, text=True, timeout=120)
    print(json.dumps({{"grader": os.getuid(), "kernel_uid": uid, "stderr": proc.stderr,
                      "kernel": json.loads(proc.stdout or "null")}}))
"""


def _as_unprivileged_user(argv: list[str], uid: int = 65534) -> list[str]:
    """``argv`` run as ``uid`` (nobody) by a root test: in a mount namespace that shows the
    system, this Python and the repository with readable parent folders (they may sit under a
    private home), and a fresh /tmp; nothing else of the machine's files."""
    readable = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, REPO)})
    args = ["bwrap", "--die-with-parent", "--dev-bind", "/dev", "/dev", "--bind", "/proc",
            "/proc", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--perms", "1777", "--tmpfs", "/tmp"]  # first: the repository may be under /tmp
    for path in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    parents = sorted({str(p) for r in readable for p in Path(r).parents if str(p) != "/"},
                     key=lambda f: (f.count("/"), f))
    for folder in parents:
        args += ["--perms", "0755", "--dir", folder]
    for path in readable:
        args += ["--ro-bind", path, path]
    return args + ["--chdir", "/", "--", "setpriv",
                   f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]


@pytest.mark.parametrize("grader", ["root", "unprivileged"])
def test_the_kernel_writes_only_in_its_scratch_folders_each_bounded(grader):
    """A grader running as root drops the kernel to a spare uid; any other grader's kernel owns
    the sandbox's in-memory ``/`` and ``/dev`` (a user namespace), which must still be
    read-only. Either way the kernel writes only in /tmp, /dev/shm and its working folder, at
    most ``scratch_mb`` in each, reads nothing of the course, and has ``tasks`` threads."""
    argv = [sys.executable, "-c", GRADER]
    if grader == "root":
        if os.geteuid() != 0:
            pytest.skip("a root grader needs the tests to run as root")
    elif os.geteuid() == 0:
        argv = _as_unprivileged_user(argv)  # else the tests themselves are unprivileged
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    kernel = run["kernel"]
    assert kernel is not None, run["stderr"]
    assert (run["grader"] == 0) == (grader == "root")
    assert (run["kernel_uid"] is None) == (grader == "unprivileged")
    assert kernel["uid"] == (run["kernel_uid"] or run["grader"])
    assert kernel["course"] == "ENOENT"
    assert kernel["planted"]["/"] == kernel["planted"]["/dev"] == "EROFS"
    assert kernel["planted"]["/usr"] == "EROFS"
    assert kernel["planted"]["/etc"] in ("EROFS", "EACCES")  # root's folder, read-only
    # 16 MiB each (scratch_mb), then "no space left on device"
    assert kernel["filled"] == {f: [16, "ENOSPC"] for f in ("/tmp", "/dev/shm", ".")}
    # 20 tasks: the kernel's main thread, and in a user namespace bwrap's init too
    assert kernel["threads"] == (19 if grader == "root" else 18)


def test_a_kernels_sockets_go_to_tmp_when_tmpdir_is_too_long_for_them(tmp_path, monkeypatch):
    """Linux limits a Unix socket's path to 107 bytes (unix(7): sun_path holds 108 with the
    NUL); the kernel's IPC sockets live in its private folder."""
    short = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))
    long = tmp_path / ("t" * max(1, 120 - len(str(tmp_path))))
    long.mkdir()
    made = []
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(short))
        made.append(kept := private_folder())
        monkeypatch.setattr(tempfile, "tempdir", str(long))
        made.append(moved := private_folder())
        assert kept.parent == short  # the instructor's TMPDIR, where it will do
        assert moved.parent == Path("/tmp") and list(long.iterdir()) == []
        assert len(os.fsencode(moved / "ipc-99999")) <= 107
    finally:
        for folder in (*made, short):
            shutil.rmtree(folder, ignore_errors=True)


def _recording_mkdtemp(monkeypatch, refuse_tmp: bool) -> list[Path]:
    """Replaces tempfile.mkdtemp by one that notes each folder it makes (and, with
    ``refuse_tmp``, fails in /tmp as a read-only /tmp would); returns the notes."""
    made, mkdtemp = [], tempfile.mkdtemp

    def recording(*args, **kwargs):
        if refuse_tmp and kwargs.get("dir") == "/tmp":
            raise PermissionError(13, "Permission denied", "/tmp")
        made.append(folder := Path(mkdtemp(*args, **kwargs)))
        return str(folder)

    monkeypatch.setattr(tempfile, "mkdtemp", recording)
    return made


@pytest.mark.parametrize("refuse_tmp", [False, True], ids=["tmp-too-long", "tmp-unusable"])
def test_private_folder_says_what_to_do_when_no_folder_will_hold_the_sockets(
        tmp_path, monkeypatch, refuse_tmp: bool):
    """Neither TMPDIR nor /tmp will do: here a limit lowered below both paths' lengths, or /tmp
    refusing new folders. The error names the socket's path, its length, the limit and the
    remedy, and no folder is left behind."""
    monkeypatch.setattr(sandbox, "SOCKET_PATH_MAX", 20)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = _recording_mkdtemp(monkeypatch, refuse_tmp)
    with pytest.raises(RuntimeError) as error:
        private_folder()
    # tmp_path, "/", "autograder-kernel-" and mkdtemp's 8 characters, "/", "ipc-99999"
    length = len(os.fsencode(tmp_path)) + 1 + len("autograder-kernel-") + 8 + 1 + len("ipc-99999")
    message = str(error.value)
    assert message.startswith(f"private_folder: a kernel's socket, {tmp_path}/autograder-kernel-")
    assert f"would take {length} bytes, more than the 20 Linux allows" in message
    assert ("/tmp cannot be used instead" if refuse_tmp else "/tmp is no shorter") in message
    assert message.endswith("set TMPDIR to a shorter folder")
    assert len(made) == (1 if refuse_tmp else 2) and not any(f.exists() for f in made)
    assert list(tmp_path.iterdir()) == []
