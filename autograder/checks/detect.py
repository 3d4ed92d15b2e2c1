"""What only a check can see while a student's function runs (issue 12, item 3).

* **Forbidden calls.** :class:`CallTracer` watches every Python and C call (``sys.setprofile``)
  while the function runs. A call counts when the student's code makes it, directly or through a
  library (``np.polymul`` calls ``np.convolve``), into what the check's :class:`Rules` forbid:
  convnb (the reference), the autograder, SciPy, a deep-learning library, ``np.convolve``, ...
  The student's code is every frame whose file is not Python's, the environment's or the
  course's (a notebook cell, a module the student wrote). What the course's own code calls, and
  what the check hands the function (the methods of the course's objects among its arguments,
  such as a model or a function to differentiate, and the stand-ins), never count.
* **Hiding calls**: taking the tracer away, or starting a thread or process it cannot follow.
* **Fake results** (:func:`fake_result`): an object whose class imitates an array or equality,
  returned in place of one. The strict comparison refuses it anyway; the flag says it was meant.
* **Constant answers** (:func:`constant_answer`): one output for every random case, whose right
  answers differ.

Each finding is a :class:`Detected`. The check scores the item 0 and writes the evidence into its
grading record, so that the grader's rescoring reaches the same 0 and flags it. What the record
says was *not* found is only the kernel's claim: code in the kernel can disable all of this.
"""

from __future__ import annotations

import _posixsubprocess
import _thread
import importlib
import importlib.util
import inspect
import os
import re
import sys
import sysconfig
import threading
import types
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import convnb.backend

from .compare import Output, type_name

# The originals, held before any student code runs (autograder.checks.originals checks that the
# module attributes still are these).
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_threading_setprofile, _threading_getprofile = threading.setprofile, threading.getprofile

MAX_FINDINGS = 5
"""At most this many findings of one kind are kept for one check (a record stays small)."""


@dataclass(frozen=True)
class Detected:
    """One finding: ``kind`` is ``"forbidden"`` (a forbidden call), ``"hidden"`` (calls hidden
    from the tracer), ``"fake"`` (a fake result), ``"patched"`` (something the checks rely on was
    replaced) or ``"constant"``; ``evidence`` says what happened, in words an instructor can act
    on."""

    kind: str
    evidence: str


# --- Whose code a frame runs ----------------------------------------------------------------------

def _folder(path: str) -> str:
    return os.path.join(os.path.realpath(path), "")


# convnb's folder from one of its modules (a copy of the course may shadow the package itself).
_COURSE = (_folder(os.path.dirname(convnb.backend.__file__)),
           _folder(os.path.join(os.path.dirname(__file__), "..")))
_LIBRARY = tuple({_folder(sysconfig.get_paths()[key])
                  for key in ("stdlib", "platstdlib", "purelib", "platlib")}
                 | {_folder(os.path.dirname(os.__file__))})
_ORIGINS: dict[str, str] = {}


def _file_origin(filename: str) -> str:
    """``"course"`` (convnb, autograder), ``"library"`` (Python's and the environment's packages)
    or ``"student"`` (anything else: a notebook cell, a file the student wrote) for a code
    object's file."""
    origin = _ORIGINS.get(filename)
    if origin is None:
        path = _folder(filename)[:-1] if os.path.isabs(filename) else ""
        origin = ("library" if filename.startswith("<frozen ") else
                  "course" if path.startswith(_COURSE) else
                  "library" if path.startswith(_LIBRARY) else "student")
        _ORIGINS[filename] = origin
    return origin


def origin(code: types.CodeType, namespace: dict[str, Any]) -> str:
    """Whose code ``code`` is (:func:`_file_origin`). Code made by ``exec`` (a file name such as
    ``<string>``) is the module's whose namespace it runs in, when that namespace is a loaded
    module's own (a dataclass's generated ``__init__``), and the student's otherwise."""
    filename = code.co_filename
    if namespace.get("__name__") == "__main__":
        return "student"  # the notebook's code, whatever file name it was compiled under
    if not filename.startswith("<") or filename.startswith("<frozen "):
        return _file_origin(filename)
    module = sys.modules.get(namespace.get("__name__") or "")
    file = getattr(module, "__file__", None)
    if file and getattr(module, "__dict__", None) is namespace:
        return _file_origin(file)
    return "student"


def _caller(code: types.CodeType) -> str:
    """The student's function by its name (``Conv.forward``): a comprehension by the function
    it is in, a nested function by its own name, a nested lambda as ``a lambda in f``."""
    name = re.sub(r"(\.<locals>)?\.<(listcomp|genexpr|dictcomp|setcomp)>", "", code.co_qualname)
    outer, _, inner = name.rpartition(".<locals>.")
    if not outer:
        return name
    return f"a lambda in {outer.partition('.<locals>.')[0]}" if inner == "<lambda>" else inner


def _qualified(code: types.CodeType, namespace: dict[str, Any]) -> str:
    module = namespace.get("__name__")
    return f"{module}.{code.co_qualname}" if isinstance(module, str) else code.co_qualname


# --- What a function may not call ---------------------------------------------------------------

def _resolve(dotted: str) -> Any:
    """The module or object called ``dotted`` (importing the longest module prefix)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            found = getattr(found, part)
        return found
    raise ValueError(f"Rules: no module or function is called {dotted!r}")


def _codes(fn: Any) -> set[types.CodeType]:
    """The code objects that run when ``fn`` is called (NumPy's dispatchers wrap one)."""
    found = set()
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if isinstance(code, types.CodeType):
            found.add(code)
        fn = getattr(fn, "__wrapped__", None)
    return found


@dataclass(frozen=True)
class Rules:
    """What a graded function may not call, by dotted name: every function of ``packages``,
    each of ``functions``, except what ``allowed`` names (a function, or a module of a forbidden
    package). Names are resolved when the rules are made (before any student code runs); a
    package that is not installed is forbidden by name alone."""

    packages: tuple[str, ...]
    functions: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    _forbidden: dict[types.CodeType, str] = field(init=False, repr=False, compare=False)
    _allowed: set[types.CodeType] = field(init=False, repr=False, compare=False)
    _allowed_modules: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _package_folders: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _verdicts: dict[types.CodeType, tuple[str | None, str]] = field(
        init=False, repr=False, compare=False)
    _modules: dict[str, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        forbidden = {code: name for name in self.functions for code in _codes(_resolve(name))}
        allowed = [_resolve(name) for name in self.allowed]
        modules = tuple(m.__name__ for m in allowed if isinstance(m, types.ModuleType))
        specs = [importlib.util.find_spec(p) for p in self.packages]
        folders = tuple(_folder(loc) for spec in specs if spec is not None
                        for loc in spec.submodule_search_locations or ())
        for name, value in (("_forbidden", forbidden), ("_allowed_modules", modules),
                            ("_allowed", set().union(*map(_codes, allowed))),
                            ("_package_folders", folders), ("_verdicts", {}), ("_modules", {})):
            object.__setattr__(self, name, value)

    def allowing(self, *names: str) -> Rules:
        """These rules with ``names`` allowed: a forbidden function taken off the list, or an
        exception inside a forbidden package (``"convnb.get_array_module"``, ``"convnb.data"``)."""
        return replace(self, functions=tuple(f for f in self.functions if f not in names),
                       allowed=self.allowed + tuple(n for n in names if n not in self.functions))

    def judge(self, code: types.CodeType, namespace: dict[str, Any]) -> tuple[str | None, str]:
        """``(name, whose)``: the forbidden function's dotted name if running ``code`` (with
        the globals ``namespace``) is a forbidden call, else ``None``; and whose code it is
        (:func:`origin`)."""
        known = self._verdicts.get(code)
        if known is not None:
            return known
        found = None
        if code in self._forbidden:
            found = self._forbidden[code]
        elif code not in self._allowed:
            module = namespace.get("__name__")
            module = module if isinstance(module, str) else ""
            in_package = (module.partition(".")[0] in self.packages
                          or _folder(code.co_filename).startswith(self._package_folders))
            if in_package and not module.startswith(self._allowed_modules):
                found = _qualified(code, namespace)
        known = (found, origin(code, namespace))
        if not code.co_filename.startswith("<"):
            self._verdicts[code] = known
        return known

    def names(self, code: types.CodeType) -> bool:
        """Whether ``code`` is one of the functions the rules name, forbidden or allowed: a
        forbidden one counts only when the student's code calls it itself (NumPy's own
        functions call ``as_strided`` where no student would see it), and what an allowed one
        calls is its own business."""
        return code in self._forbidden or code in self._allowed

    def module(self, name: str) -> bool:
        """Whether the functions of the module ``name`` are forbidden (a package's, not an
        allowed module's)."""
        found = self._modules.get(name)
        if found is None:
            found = (name.partition(".")[0] in self.packages
                     and not name.startswith(self._allowed_modules))
            self._modules[name] = found
        return found

    def forbids_builtin(self, fn: Any) -> str | None:
        """The dotted name of a C function (``torch.conv2d``) of a forbidden package."""
        module = getattr(fn, "__module__", None)
        if module is None:
            owner = getattr(fn, "__self__", None)
            module = owner.__name__ if isinstance(owner, types.ModuleType) else None
        if isinstance(module, str) and self.module(module):
            return f"{module}.{getattr(fn, '__name__', '?')}"
        return None


DEEP_LEARNING = ("torch", "tensorflow", "jax", "keras", "autograd")
STRIDE_TRICKS = ("numpy.lib.stride_tricks.sliding_window_view",
                 "numpy.lib.stride_tricks.as_strided")
CONVOLUTIONS = ("numpy.convolve", "numpy.correlate", "numpy.ma.convolve", "numpy.ma.correlate",
                "numpy.polymul", "numpy.polynomial.polynomial.polymul")
COURSE_RULES = Rules(
    packages=("convnb", "autograder", "scipy", *DEEP_LEARNING),
    functions=(*CONVOLUTIONS, *STRIDE_TRICKS),
)
"""The course-wide default: a lab's own functions are written with NumPy, not with what their
answers are compared with (convnb, SciPy), a deep-learning library, the autograder's code, or
NumPy's ready-made convolutions and windows. A lab module relaxes it where its rules allow more
(``COURSE_RULES.allowing("numpy.lib.stride_tricks.sliding_window_view")``)."""

_HIDING_C = {fn: why for fn, why in (
    (sys.setprofile, "which takes the checks' call tracer away"),
    (_thread.start_new_thread, "which starts a thread the call tracer does not follow"),
    (_posixsubprocess.fork_exec, "which starts another process, whose calls the checks cannot see"),
    *((getattr(os, name), "which starts another process, whose calls the checks cannot see")
      for name in ("fork", "forkpty", "system", "posix_spawn", "posix_spawnp")
      if hasattr(os, name)),
)}
_HIDING_PY = {threading.setprofile.__code__: "which takes the checks' call tracer away"}


# --- The tracer -----------------------------------------------------------------------------------

def _course_methods(value: Any, found: set[types.CodeType], depth: int = 0) -> None:
    """Adds to ``found`` the code the student's function may call because the course gave it
    ``value``: a function given itself, and the methods of the course's objects (a model, its
    layers, a function to differentiate), not the functions they keep in attributes (a known
    derivative is not the student's to call)."""
    if depth > 4 or isinstance(value, np.ndarray | np.generic | str | bytes | int | float):
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:1000]:
            _course_methods(item, found, depth + 1)
    elif isinstance(value, dict):
        for item in list(value.values())[:1000]:
            _course_methods(item, found, depth + 1)
    elif isinstance(value, types.FunctionType | types.MethodType):
        found |= _codes(getattr(value, "__func__", value))
    elif type(value).__module__.startswith("autograder."):
        for klass in type(value).__mro__[:-1]:
            for member in vars(klass).values():
                found |= _codes(getattr(member, "__func__", getattr(member, "fget", member)))
        for item in getattr(value, "__dict__", {}).values():
            if not isinstance(item, types.FunctionType):
                _course_methods(item, found, depth + 1)


def _parameters(frame: types.FrameType) -> list[Any]:
    """The values of a frame's parameters (not its other locals, nor the cells of a closure)."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    return [frame.f_locals[name] for name in names if name in frame.f_locals]


def _default_ids(student: Any, namespace: Any) -> set[int]:
    """The ids of the default values of the student's function and of every function and method
    in the student's namespace (the notebook's): a default such as ``_k=convnb.conv2d`` is the
    student's, not handed over by the course when the course calls that function."""
    functions = [getattr(student, "__func__", student)]
    values = list(namespace.values()) if isinstance(namespace, dict) else []
    for value in [student, *values]:
        if isinstance(value, type):
            functions += [getattr(m, "__func__", m) for k in value.__mro__[:-1]
                          for m in vars(k).values()]
        else:
            functions.append(getattr(value, "__func__", value))
    ids = set()
    for fn in functions:
        if isinstance(fn, types.FunctionType):
            ids |= {id(v) for v in (fn.__defaults__ or ())}
            ids |= {id(v) for v in (fn.__kwdefaults__ or {}).values()}
    return ids


class CallTracer:
    """``with CallTracer(rules) as tracer:`` runs the block with every call watched; afterwards
    :meth:`findings` lists the forbidden calls the student's code made, and the attempts to hide
    calls (the tracer taken away, a thread or process started). Tracers of one check's cases
    share their counts in ``calls``."""

    def __init__(self, rules: Rules, calls: Counter[tuple[str, str, str]] | None = None,
                 given: tuple[Any, ...] = (), student: Any = None,
                 namespace: dict[str, Any] | None = None,
                 course_code: Iterable[types.CodeType] = ()) -> None:
        self.rules, self._judge = rules, rules.judge
        self.handed: set[types.CodeType] = set(course_code)  # the stand-ins' code (core's)
        _course_methods(given, self.handed)  # the case's arguments, as the check hands them
        self._defaults = _default_ids(student, namespace)
        self.calls = Counter() if calls is None else calls
        self._hook = self._make_hook()  # sys.getprofile() must return this very function

    def __enter__(self) -> CallTracer:
        self._previous, self._previous_threads = _getprofile(), _threading_getprofile()
        _threading_setprofile(self._hook)
        _setprofile(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        current = _getprofile()
        _setprofile(self._previous)
        _threading_setprofile(self._previous_threads)
        if current is not self._hook:
            self.calls[("hidden", "the function", "took the checks' call tracer away "
                        f"(the profile function is now {current!r})")] += 1

    def _make_hook(self) -> Callable[[types.FrameType, str, Any], None]:
        """The profile function: the common events (a call of nothing forbidden) leave it after
        a dictionary lookup or two."""
        known, judge, module_forbidden = self.rules._verdicts, self._judge, self.rules.module
        on_call, on_c_call, on_return = self._on_call, self._on_c_call, self._on_return

        def hook(frame: types.FrameType, event: str, arg: Any) -> None:
            try:
                if event == "c_call":
                    module = arg.__module__
                    if module is None and type(arg.__self__) is types.ModuleType:
                        module = arg.__self__.__name__
                    if (module is not None and module_forbidden(module)) or arg in _HIDING_C:
                        on_c_call(frame, arg)
                elif event == "call":
                    verdict = known.get(frame.f_code) or judge(frame.f_code, frame.f_globals)
                    if verdict[0] is not None or verdict[1] == "student" or frame.f_code in \
                            _HIDING_PY:
                        on_call(frame)
                elif event == "return" and arg is not None:
                    verdict = known.get(frame.f_code) or judge(frame.f_code, frame.f_globals)
                    if verdict[1] == "course":
                        on_return(frame, arg)
            except Exception:  # noqa: BLE001, S110 - never break the student's code
                pass
        return hook

    def _on_call(self, frame: types.FrameType) -> None:
        code, caller = frame.f_code, frame.f_back
        name, whose = self._judge(code, frame.f_globals)
        if name is not None:
            if code not in self.handed:
                self._found(caller, "forbidden", name, direct=self.rules.names(code))
        elif whose == "student":
            if caller is not None and self._judge(caller.f_code, caller.f_globals)[1] == "course":
                for value in _parameters(frame):  # what the course's code hands over
                    if id(value) not in self._defaults:  # _k=convnb.conv2d is not handed over
                        _course_methods(value, self.handed)
        elif code in _HIDING_PY:
            self._found(caller, "hidden", f"{_qualified(code, frame.f_globals)}, "
                        f"{_HIDING_PY[code]}")

    def _on_c_call(self, frame: types.FrameType, fn: Any) -> None:
        why = _HIDING_C.get(fn)
        if why is not None:  # threading's threads are traced: only a thread of _thread's counts
            self._found(frame, "hidden", f"{self.rules.forbids_builtin(fn) or _c_name(fn)}, {why}",
                        direct=fn is _thread.start_new_thread)
            return
        name = self.rules.forbids_builtin(fn)
        if name is not None:
            self._found(frame, "forbidden", name)

    def _on_return(self, frame: types.FrameType, value: Any) -> None:
        caller = frame.f_back
        if (caller is not None and self._judge(frame.f_code, frame.f_globals)[1] == "course"
                and self._judge(caller.f_code, caller.f_globals)[1] == "student"):
            _course_methods(value, self.handed)  # what the course's code gives the student

    def _found(self, frame: types.FrameType | None, kind: str, callee: str,
               direct: bool = False) -> None:
        """Counts the call of ``callee`` from ``frame`` if the student's code made it: itself,
        or (unless ``direct``) through library code it called, not through the course's code
        or a function the rules name, forbid or allow."""
        through = None
        while frame is not None:
            name, whose = self._judge(frame.f_code, frame.f_globals)
            if whose == "student":
                via = f" (through {through})" if through else ""
                self.calls[(kind, _caller(frame.f_code), f"{callee}{via}")] += 1
                return
            if direct or whose != "library" or name or self.rules.names(frame.f_code):
                return
            through = _qualified(frame.f_code, frame.f_globals)
            frame = frame.f_back

    def findings(self) -> list[Detected]:
        """What the student's code did, one finding per caller and callee, with the count."""
        return findings(self.calls)


def findings(calls: Counter[tuple[str, str, str]]) -> list[Detected]:
    """The :class:`Detected` of what tracers counted in ``calls`` (several may share one)."""
    found = []
    for (kind, caller, callee), count in calls.most_common():
        times = "" if count == 1 else f" ({count} times)"
        if kind == "forbidden":
            text = f"{caller} called {callee}{times}, which the lab's rules forbid"
        elif caller == "the function":
            text = f"the function {callee}"
        else:
            text = f"{caller} called {callee}{times}"
        found.append(Detected(kind, text))
    return found


def _c_name(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    module = owner.__name__ if isinstance(owner, types.ModuleType) else getattr(
        fn, "__module__", "?")
    return f"{module}.{getattr(fn, '__name__', '?')}"


def merge(findings: Sequence[Detected]) -> list[Detected]:
    """``findings`` of every case of a check, each once, at most :data:`MAX_FINDINGS` a kind."""
    kept: dict[str, list[Detected]] = {}
    for item in findings:
        same = kept.setdefault(item.kind, [])
        if item not in same and len(same) < MAX_FINDINGS:
            same.append(item)
    return [item for items in kept.values() for item in items]


# --- What a function returns --------------------------------------------------------------------

IMITATIONS = ("__array__", "__array_interface__", "__array_struct__", "__array_ufunc__",
              "__array_function__", "__eq__", "__ne__", "__float__", "__int__", "__index__",
              "__class__")
"""What a class defines to pass for an array or a number, or to compare equal to anything."""


def _students_class(cls: type) -> bool:
    """Whether the student's code defined ``cls`` (not NumPy, Python or an installed package):
    judged by the code of its first method, or else by its module's file."""
    for klass in cls.__mro__[:-1]:
        namespace = getattr(sys.modules.get(klass.__module__), "__dict__", {})
        for member in vars(klass).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if isinstance(code, types.CodeType):
                return origin(code, namespace) == "student"
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return cls.__module__ == "__main__" or not file or _file_origin(file) == "student"


def fake_result(function: str, value: Any) -> Detected | None:
    """A :class:`Detected` when ``value`` is an object of a class the student wrote that
    imitates an array, a number or equality (:data:`IMITATIONS`), or subclasses
    ``numpy.ndarray``: a result made to pass a comparison rather than to be right."""
    cls = type(value)
    if cls.__module__ in ("builtins", "numpy") or not _students_class(cls):
        return None
    defined = [name for name in IMITATIONS if any(name in vars(k) for k in cls.__mro__[:-1]
                                                   if not k.__module__.startswith("numpy"))]
    what = [f"defines {', '.join(defined)}"] if defined else []
    if issubclass(cls, np.ndarray):
        what.insert(0, "subclasses numpy.ndarray")
    if not what:
        return None
    return Detected("fake", f"{function} returned a {type_name(value)}, of a class of the "
                    f"student's own that {' and '.join(what)}: an object made to pass the "
                    "comparison, not a plain numpy.ndarray")


def _same(a: Output, b: Output) -> bool:
    return ((a.kind, a.type_name, a.shape, a.dtype) == (b.kind, b.type_name, b.shape, b.dtype)
            and a.values is not None and b.values is not None
            and np.array_equal(a.values, b.values, equal_nan=a.values.dtype.kind in "fc"))


def constant_answer(function: str, outputs: Sequence[Output],
                    expected: Callable[[], Sequence[Output]]) -> Detected | None:
    """A :class:`Detected` when the student's ``outputs`` for three or more random cases are all
    one value (none an error) while the right answers (``expected()``, computed only then) are
    not all one."""
    first = outputs[0] if outputs else None
    if len(outputs) < 3 or first.kind == "error" or not all(_same(o, first) for o in outputs):
        return None
    right = expected()
    if all(_same(e, right[0]) for e in right):
        return None
    shown = np.array2string(first.values, precision=4, threshold=6, edgeitems=2)
    return Detected("constant", f"{function} returned the same value in all {len(outputs)} "
                    f"random cases ({shown}), whose right answers differ")
