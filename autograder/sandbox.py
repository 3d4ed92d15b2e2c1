"""Each submission's kernel in a bubblewrap sandbox: what a student's code can reach, and how much.

``grade`` runs nbgrader's ``Execute`` preprocessor with :class:`SandboxedKernelManager`, which
starts the kernel under ``bwrap`` (bubblewrap, the sandbox of Flatpak) in new mount, PID,
network, IPC and UTS namespaces. The kernel sees

* the system's programs and libraries and the Python environment, read-only (``/usr``,
  ``sys.prefix``, ``sys.base_prefix``), and the course's packages (``Sandbox.packages``) where
  an editable install keeps them outside the environment: their folders only;
* its own submission folder (nbgrader's ``autograded/<student>/<lab>/`` copy), read-only, inside
  a writable tmpfs; a second tmpfs on ``/tmp``, which is also ``HOME``, and a third on
  ``/dev/shm``; nothing else is writable;
* a private folder with the kernel's connection file and its ZeroMQ IPC sockets: in its own
  network namespace the kernel's loopback is not the grader's, so the two talk over files.

Nothing else: not the course (``source/``, the gradebook, ``release/``, other students), not the
instructor's home, no network, none of the grader's environment variables. Each kernel also runs
under limits (``prlimit`` from util-linux): CPU seconds and address space per process, and a
number of tasks (processes and threads) for the whole sandbox. ``RLIMIT_NPROC`` does not bind
root, so a grader running as root drops the kernel to a uid no account uses
(``UID_BASE`` + the grading process's id, with ``setpriv``); otherwise the kernel keeps the
instructor's uid inside a new user namespace, where the count is the sandbox's own.

Settings, in the course's ``nbgrader_config.py``: ``c.Sandbox.cpu_seconds = 600`` and the other
traits of :class:`Sandbox`. ``c.Sandbox.enabled = False`` grades without isolation (a machine
where bubblewrap cannot run); every submission's notes in the report then say so.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode
from traitlets.config import Configurable
from traitlets.utils.importstring import import_item

UID_BASE = 2_000_000_000
"""Kernels of a grader running as root run as ``UID_BASE + os.getpid()`` (below 2**31)."""

INSTALL = ("install bubblewrap (Debian, Ubuntu: sudo apt-get install bubblewrap; Fedora: "
           "sudo dnf install bubblewrap), or grade without isolation, where student code can "
           "read the course's solutions, the gradebook and other students' work, with "
           "c.Sandbox.enabled = False in nbgrader_config.py")

ENVIRONMENT = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHASHSEED",
               "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""The grader's environment variables a kernel keeps (locale, thread counts); no others."""

KERNEL_HOME = "/tmp"
"""``HOME`` of a sandboxed kernel (IPython writes a path under it as ``~/...``)."""

_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot start a kernel here; the message says what to do."""


class Sandbox(Configurable):
    """The isolation and limits of each submission's kernel (``c.Sandbox.*`` settings)."""

    enabled = Bool(True, help=(
        "Run each kernel in a bubblewrap sandbox. False grades without isolation: student "
        "code can read the course (solutions, gradebook, other students) and use the "
        "network; every submission's notes in the report say so.")).tag(config=True)
    cpu_seconds = Integer(600, min=1, help=(
        "CPU time of each process of a kernel, in seconds, over the whole notebook (the "
        "wall-clock limit per cell is c.Execute.timeout). A kernel that uses it up is "
        "stopped and its submission fails to run.")).tag(config=True)
    memory_mb = Integer(4096, min=256, help=(
        "Address space of each process of a kernel, in MiB: an allocation beyond it raises "
        "MemoryError in the student's cell.")).tag(config=True)
    tasks = Integer(64, min=16, help=(
        "Processes and threads a kernel may have at once (its own included): a fork bomb "
        "stops there.")).tag(config=True)
    scratch_mb = Integer(512, min=16, help=(
        "Size of each of the kernel's three writable tmpfs (its working folder, /tmp and "
        "/dev/shm), in MiB; they live in memory and vanish with the kernel.")).tag(config=True)
    packages = List(Unicode(), ["convnb", "autograder"], help=(
        "Packages the kernel imports that may live outside the Python environment (an "
        "editable install): their folders are bound read-only.")).tag(config=True)
    read_only = List(Unicode(), [], help=(
        "More paths the kernel may read (bound read-only at the same place).")
    ).tag(config=True)

    def limits(self) -> str:
        """The limits in words, for notes and errors."""
        return (f"{self.cpu_seconds} s of CPU and {self.memory_mb} MiB of address space per "
                f"process, {self.tasks} processes and threads, {self.scratch_mb} MiB of "
                "scratch")

    def command(self, argv: list[str], *, cwd: str, private: Path, uid: int | None = None
                ) -> list[str]:
        """``argv`` (the kernel's command line) run in a sandbox.

        Parameters
        ----------
        cwd : the kernel's working folder (the submission's autograded copy).
        private : the kernel's private folder (connection file, IPC sockets), read-write.
        uid : the uid to run as (a grader running as root); ``None`` keeps the caller's, in
            a new user namespace.
        """
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(f"bubblewrap (bwrap) is not on PATH: {INSTALL}")
        args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev"]
        if uid is None:
            args += ["--unshare-user", "--disable-userns"]
        args += self._mounts(cwd, private)
        args += ["--chdir", cwd, "--clearenv"]
        for name, value in self.environment().items():
            args += ["--setenv", name, value]
        # SIGXCPU at the soft CPU limit (the grader names it), SIGKILL 5 s later.
        args += ["--", "prlimit", f"--cpu={self.cpu_seconds}:{self.cpu_seconds + 5}",
                 f"--as={self.memory_mb * 2**20}", f"--nproc={self.tasks}", "--core=0",
                 f"--fsize={self.scratch_mb * 2**20}", "--"]
        if uid is not None:
            args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--no-new-privs", "--"]
        return args + argv

    def _mounts(self, cwd: str, private: Path) -> list[str]:
        """bwrap's arguments for the file system: read-only system and Python, two tmpfs (the
        working folder, with the submission's files bound read-only in it, and /tmp), a third
        for ``/dev/shm``, each of ``scratch_mb``, and the private folder read-write; nothing
        else exists, and nothing else is writable.

        bwrap builds the sandbox's ``/`` and ``/dev`` as in-memory file systems without a size
        limit. In a user namespace (a grader not running as root) the kernel owns them, so every
        mount point is made first, then ``/`` (with ``/dev`` and ``/proc`` under it) is remounted
        read-only, and only then are the writable file systems mounted.
        """
        args = []
        for path in _SYSTEM:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in [*_ETC, "/sys/devices/system/cpu"]:
            args += ["--ro-bind-try", path, path]
        scratch = str(self.scratch_mb * 2**20)
        args += ["--perms", "1777", "--size", scratch, "--tmpfs", "/tmp"]
        readable = self._readable()
        for folder in _parents([*readable, str(private), cwd]):
            args += ["--perms", "0755", "--dir", folder]  # bwrap would make them 0700
        for path in readable:
            args += ["--ro-bind", path, path]
        for folder in (cwd, str(private)):
            args += ["--dir", folder]
        # Only these two mounts become read-only: each later mount keeps its own flags.
        args += ["--remount-ro", "/", "--remount-ro", "/dev"]
        args += ["--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm"]
        args += ["--perms", "0777", "--size", scratch, "--tmpfs", cwd]
        for entry in sorted(os.listdir(cwd)):
            path = os.path.join(cwd, entry)
            if os.path.realpath(path).startswith(cwd + os.sep):  # no link out of the folder
                args += ["--ro-bind", path, path]
        return args + ["--bind", str(private), str(private)]

    def _readable(self) -> list[str]:
        """The Python environment, and the folders of the packages that live outside it."""
        prefixes = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)})
        paths = list(prefixes)
        for folder in _package_folders(tuple(self.packages), self.environment()["PATH"]):
            real = os.path.realpath(folder)
            if not any(real.startswith(p + os.sep) for p in [*prefixes, *_SYSTEM]):
                paths.append(real)
        return paths + list(self.read_only)

    def environment(self) -> dict[str, str]:
        """The kernel's environment variables, and bwrap's own: bwrap's process stays in the
        sandbox as its init, where the kernel could read its environment."""
        path = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        env = {"PATH": os.pathsep.join(path), "HOME": KERNEL_HOME, "TMPDIR": "/tmp",
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               # The kernel's parent is the sandbox's init, pid 1, which lives as long as it:
               # no parent poller, and no banner on the grader's terminal.
               "JPY_PARENT_PID": "1"}
        env.update({k: os.environ[k] for k in ENVIRONMENT if k in os.environ})
        return env


@functools.lru_cache(maxsize=8)
def _package_folders(packages: tuple[str, ...], path: str) -> list[str]:
    """Where this interpreter, started as a kernel is (from ``/``, the kernel's ``PYTHONPATH``),
    finds ``packages``: not where the grader's own ``sys.path`` would (a test folder named
    like a package must not stand in for it)."""
    code = ("import importlib.util, json, sys\n"
            "specs = [importlib.util.find_spec(name) for name in sys.argv[1:]]\n"
            "print(json.dumps([f for s in specs if s for f in s.submodule_search_locations or []"
            "]))")
    env = {"PATH": path, **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    proc = subprocess.run([sys.executable, "-c", code, *packages], cwd="/", env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


def _parents(paths: list[str]) -> list[str]:
    """The folders above ``paths`` (``/`` excluded), each once, outermost first."""
    folders = {str(p) for path in paths for p in Path(path).parents if str(p) != "/"}
    return sorted(folders, key=lambda f: (f.count("/"), f))


def kernel_uid() -> int | None:
    """The uid kernels run as: a fresh one when the grader is root, else ``None`` (the
    grader's own, in a user namespace)."""
    return UID_BASE + os.getpid() if os.geteuid() == 0 else None


SOCKET_PATH_MAX = 107
"""The longest path, in bytes, a Unix socket may have on Linux (``sun_path`` holds 108 with the
closing NUL; unix(7))."""
_LONGEST_SOCKET = "ipc-99999"  # jupyter_client names the sockets <ip>-1, <ip>-2, ...


def sockets_fit(folder: Path) -> bool:
    """Whether a kernel whose private folder is ``folder`` can make its IPC sockets there: their
    paths, ``folder/ipc-1`` and up, at most :data:`SOCKET_PATH_MAX` bytes long."""
    return len(os.fsencode(Path(folder) / _LONGEST_SOCKET)) <= SOCKET_PATH_MAX


def private_folder() -> Path:
    """A new folder for a kernel's connection file and IPC sockets: in the temporary folder
    (``TMPDIR``), or in ``/tmp`` where a socket's path in that folder would be too long.

    Raises RuntimeError when neither will do."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-kernel-"))
    if sockets_fit(folder):
        return folder
    folder.rmdir()
    try:
        short = Path(tempfile.mkdtemp(prefix="autograder-kernel-", dir="/tmp"))
    except OSError as error:
        reason = f"/tmp cannot be used instead ({error})"
    else:
        if sockets_fit(short):
            return short
        short.rmdir()
        reason = "/tmp is no shorter"
    longest = folder / _LONGEST_SOCKET
    raise RuntimeError(
        f"private_folder: a kernel's socket, {longest}, would take {len(os.fsencode(longest))} "
        f"bytes, more than the {SOCKET_PATH_MAX} Linux allows, and {reason}: set TMPDIR to a "
        f"shorter folder")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in a :class:`Sandbox`, talking over IPC sockets in a
    private folder (made for each kernel, removed with it). What the kernel process itself
    writes to its stdout and stderr (not the notebook's outputs) goes to nbgrader's log of the
    submission, not to the grader's terminal."""

    _private: Path | None = None
    _cwd: str = ""
    _output = None

    async def _async_pre_start_kernel(self, **kw):
        self._private = private_folder()
        self.transport = "ipc"
        self.connection_file = str(self._private / "kernel.json")
        self.ip = str(self._private / "ipc")
        self._cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        self._output = tempfile.TemporaryFile()
        kw["stdout"] = kw["stderr"] = self._output
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = Sandbox(parent=self).environment()
        uid = kernel_uid()
        if uid is not None:  # the kernel, not root, reads the connection file, makes sockets
            for path in (self._private, Path(self.connection_file)):
                os.chown(path, uid, uid)
        return kernel_cmd, kw

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        return Sandbox(parent=self).command(argv, cwd=self._cwd, private=self._private,
                                            uid=kernel_uid())

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart and self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
        if not restart and self._output is not None:
            self._output.seek(0, os.SEEK_END)
            self._output.seek(max(0, self._output.tell() - 4000))
            text = self._output.read().decode(errors="replace").strip()
            self._output.close()
            self._output = None
            if text:
                self.log.info("The kernel process's own output (its last 4000 bytes):\n%s", text)

    async def _async_interrupt_kernel(self) -> None:
        """By a message, whatever the kernelspec says: a signal to the process the grader
        started, bwrap, would end the sandbox around the kernel."""
        if not self.has_kernel:
            return await super()._async_interrupt_kernel()  # waits for a start, or raises
        self._connect_control_socket()
        self.session.send(self._control_socket, self.session.msg("interrupt_request", {}))

    # AsyncKernelManager binds the public names to the base class's coroutines.
    cleanup_resources = _async_cleanup_resources
    interrupt_kernel = _async_interrupt_kernel


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` preprocessor, each kernel in a :class:`Sandbox` (unless the course
    sets ``c.Sandbox.enabled = False``); when the kernel dies, the error names the cell and why
    (:func:`why_it_died`). ``labs/nbgrader_config.py`` names it, so that a hand-run
    ``nbgrader autograde`` sandboxes its kernels too."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if Sandbox(parent=self).enabled:  # set after Execute's own __init__, which resets it
            self.kernel_manager_class = SandboxedKernelManager

    def preprocess_cell(self, cell, resources, index):
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as err:
            process = getattr(self.km and self.km.provisioner, "process", None)
            why = why_it_died(process and process.poll(), Sandbox(parent=self))
            raise DeadKernelError(f"the kernel died while running {name}: {why}") from err
        except CellTimeoutError as err:
            raise CellTimeoutError(
                f"{name} ran past the {self.timeout} s limit and had not stopped "
                f"{self.iopub_timeout} s after being interrupted (an endless loop that catches "
                "KeyboardInterrupt?)") from err


def why_it_died(status: int | None, sandbox: Sandbox) -> str:
    """In words, why a sandboxed kernel ended with exit ``status`` (bwrap's: the kernel's own,
    128 + the signal that killed it, or minus the signal that killed bwrap)."""
    def name(number: int) -> str:
        try:
            return signal.Signals(number).name
        except ValueError:
            return f"signal {number}"

    if status is None:
        return "it stopped answering"
    if status < 0:
        return f"its sandbox was stopped by {name(-status)}"
    if status == 128 + signal.SIGXCPU:
        return (f"it used up its {sandbox.cpu_seconds} s of CPU time (c.Sandbox.cpu_seconds) "
                "and was stopped")
    if status == 128 + signal.SIGKILL:
        return "it was killed (SIGKILL: out of memory, or past its CPU time)"
    if status > 128:
        return f"it was killed by {name(status - 128)} (a crash)"
    return f"it exited with status {status} (os._exit, or a crash of compiled code)"


def probe(config) -> None:
    """Starts the course's Python in a sandbox once; raises :class:`SandboxUnavailable` with
    bubblewrap's own words when it cannot (not installed, user namespaces not allowed)."""
    sandbox = Sandbox(config=config)
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as tmp:
        private, cwd = Path(tmp, "private"), Path(tmp, "work")
        private.mkdir()
        cwd.mkdir()
        uid = kernel_uid()
        if uid is not None:
            os.chown(private, uid, uid)
        argv = [sys.executable, "-c", "import " + ", ".join(["autograder.checks",
                                                               *sandbox.packages])]
        try:
            proc = subprocess.run(sandbox.command(argv, cwd=str(cwd), private=private, uid=uid),
                                  env=sandbox.environment(), capture_output=True, text=True,
                                  timeout=60)
        except OSError as err:
            raise SandboxUnavailable(f"bubblewrap could not start: {err}: {INSTALL}") from None
    if proc.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap could not run the course's Python in a sandbox (exit status "
            f"{proc.returncode}): {proc.stderr.strip()[-800:]}\nWhere user namespaces are "
            "restricted (Ubuntu 24.04: kernel.apparmor_restrict_unprivileged_userns), allow "
            f"them for bwrap; else {INSTALL}")


def sandboxed(chain: list) -> list:
    """nbgrader's ``Autograde.autograde_preprocessors`` with ``Execute`` replaced by
    :class:`SandboxedExecute` (classes or their import strings, as nbgrader accepts)."""
    classes = [import_item(item) if isinstance(item, str) else item for item in chain]
    for cls in classes:
        if issubclass(cls, Execute) and cls is not Execute and not issubclass(
                cls, SandboxedExecute):
            raise SandboxUnavailable(
                f"c.Autograde.autograde_preprocessors runs notebooks with {cls.__module__}."
                f"{cls.__name__}, which the grader cannot put in a sandbox: name "
                "nbgrader.preprocessors.Execute or autograder.sandbox.SandboxedExecute")
    return [SandboxedExecute if cls is Execute else cls for cls in classes]
