"""The real data the course trains on, as NumPy arrays in the course's NCHW layout.

* :func:`load_digits`: scikit-learn's 1,797 handwritten 8x8 digits (shipped with scikit-learn).
* :func:`sample_image`: scikit-image's bundled photographs and test patterns.
* :func:`load_faces`: scikit-image's 200 25x25 LFW crops, faces and non-faces.
* :func:`load_mnist`: MNIST, downloaded once, SHA-256 verified and cached; :func:`read_idx` parses
  its IDX files.
* :func:`batches` and :func:`train_test_split`: minibatches and a stratified held-out split.

Nothing here needs the network except a first :func:`load_mnist`; without one it raises
:class:`MnistUnavailable`, and ``load_dataset("mnist")`` falls back to the digits. Pixels are
floats in [0, 1], labels int64. Everything returns NumPy arrays: moving them to a GPU is the
caller's job (``convnb.backend.to_device``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib
import os
import tempfile
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "DATASETS",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "SAMPLE_IMAGES",
    "MnistUnavailable",
    "batches",
    "load_dataset",
    "load_digits",
    "lecture_conv_example",
    "load_faces",
    "load_mnist",
    "mnist_cache_dir",
    "read_idx",
    "sample_image",
    "train_test_split",
]

DATASETS = ("digits", "mnist", "faces")

# skimage.data loaders whose files ship inside scikit-image (no download); RGB ones come back
# channels first.
SAMPLE_IMAGES = (
    "astronaut", "brick", "camera", "cat", "cell", "checkerboard", "chelsea", "clock", "coffee",
    "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "microaneurysms", "moon", "page", "retina", "rocket",
    "shepp_logan_phantom", "text",
)  # fmt: skip

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the gzipped files, as recorded in TensorFlow Datasets
# (tensorflow_datasets/url_checksums/mnist.txt); the same bytes are served by both mirrors.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# IDX type codes (third byte of the magic number); the data are big-endian.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_FALLBACK = (
    "the 8x8 digits bundled with scikit-learn need no network: use convnb.data.load_digits(), "
    "or load_dataset('mnist', fallback=True), which falls back to them"
)


class MnistUnavailable(OSError):
    """MNIST could not be read from the cache or downloaded (no network, a bad or partial file)."""


def _float_dtype(dtype: DTypeLike, fn: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{fn}: dtype must be a floating-point type such as np.float32, got {dt}")
    return dt


def _require(module: str, package: str, fn: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{fn} needs {package}, which is not installed: "
                          f"pip install {package}") from err


def load_digits(as_images: bool = True,
                dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits (8x8, from UCI), pixels scaled to [0, 1].

    The raw pixels count dark cells in 4x4 blocks of a 32x32 bitmap (0..16); they are divided by 16.

    Shapes: -> x (1797, 1, 8, 8), or (1797, 64) with ``as_images=False``; y (1797,) int64 in 0..9
    """
    dt = _float_dtype(dtype, "load_digits")
    datasets = _require("sklearn.datasets", "scikit-learn", "load_digits")
    digits = datasets.load_digits()
    x = (digits.data / 16.0).astype(dt)
    shape = (-1, 1, 8, 8) if as_images else (-1, 64)
    return x.reshape(shape), digits.target.astype(np.int64)


def _to_unit_float(img: np.ndarray, dt: np.dtype) -> np.ndarray:
    if img.dtype == bool:
        return img.astype(dt)
    if img.dtype.kind in "ui":
        return (img / np.iinfo(img.dtype).max).astype(dt)
    return np.clip(img, 0.0, 1.0).astype(dt)


def sample_image(name: str, as_gray: bool = False, dtype: DTypeLike = np.float32) -> np.ndarray:
    """One of scikit-image's bundled images (no download), as floats in [0, 1].

    ``name`` is one of :data:`SAMPLE_IMAGES`, e.g. "camera", "coins", "moon", "text",
    "checkerboard" (grayscale) or "astronaut", "coffee", "chelsea" (RGB). ``as_gray=True`` turns an
    RGB image into luminance, 0.2125 R + 0.7154 G + 0.0721 B (scikit-image's ``rgb2gray``).

    Shapes: -> (H, W) for a grayscale image or with ``as_gray``; (3, H, W) for RGB, channels first
    """
    if not isinstance(name, str):
        raise TypeError(f"sample_image: name must be a string, got {type(name).__name__}")
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"sample_image: name must be one of {', '.join(SAMPLE_IMAGES)}; "
                         f"got {name!r}")
    dt = _float_dtype(dtype, "sample_image")
    skdata = _require("skimage.data", "scikit-image", "sample_image")
    img = _to_unit_float(np.asarray(getattr(skdata, name)()), dt)
    if img.ndim == 3:
        img = img.transpose(2, 0, 1)
        if as_gray:
            img = np.tensordot(np.array([0.2125, 0.7154, 0.0721], dtype=dt), img, axes=1)
    return np.ascontiguousarray(img)


def lecture_conv_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lectures' worked example of a convolution layer (lecture 001, after CS231n's demo): a
    5x5x3 input and two 3x3x3 filters with biases 1 and 0, used with stride 2 and padding 1.

    Shapes: x (1, 3, 5, 5), w (2, 3, 3, 3), b (2,) -> conv2d(x, w, b, 2, 1): (1, 2, 3, 3).
    Fresh arrays on every call (float64), so a caller may change them.
    """
    x = np.array([[
        [[2, 1, 0, 2, 2], [0, 0, 2, 2, 0], [1, 0, 1, 2, 2], [0, 2, 2, 2, 0], [2, 2, 0, 0, 2]],
        [[2, 2, 0, 2, 1], [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], [2, 1, 0, 1, 1], [0, 0, 1, 1, 0]],
        [[2, 2, 1, 0, 2], [1, 2, 2, 2, 2], [0, 0, 0, 1, 0], [1, 0, 2, 1, 2], [2, 2, 1, 0, 1]],
    ]], dtype=float)
    w = np.array([
        [[[1, 1, -1], [1, 1, 0], [1, 1, -1]], [[1, -1, 0], [1, 1, 0], [1, -1, 1]],
         [[0, 0, 1], [-1, 0, -1], [-1, 1, -1]]],
        [[[1, 0, 0], [0, 1, 0], [0, 0, 0]], [[1, -1, -1], [1, -1, -1], [0, -1, 1]],
         [[-1, 0, 1], [-1, -1, 1], [1, -1, 0]]],
    ], dtype=float)
    return x, w, np.array([1.0, 0.0])


def load_faces(dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """200 grayscale 25x25 crops from Labeled Faces in the Wild (``skimage.data.lfw_subset``).

    The first 100 are faces (label 1), the last 100 non-faces cut from the photographs'
    backgrounds (label 0): a small face detection problem. Shuffle before training
    (:func:`batches` does by default).

    Shapes: -> x (200, 1, 25, 25) in [0, 1]; y (200,) int64, 1 = face
    """
    dt = _float_dtype(dtype, "load_faces")
    skdata = _require("skimage.data", "scikit-image", "load_faces")
    x = _to_unit_float(np.asarray(skdata.lfw_subset()), dt)[:, None]
    y = np.repeat(np.array([1, 0], dtype=np.int64), 100)
    return x, y


def read_idx(source: str | os.PathLike | bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format), gzipped or not, from a path or from bytes.

    An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <number of dimensions>``, one
    big-endian uint32 per dimension, then the values in C order, big-endian. Type codes: 0x08
    uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

    Shapes: -> the dimensions in the header, in native byte order
    """
    origin = "the given data" if isinstance(source, bytes | bytearray) else str(source)
    raw = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"read_idx: {origin} is a damaged gzip file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"read_idx: {origin} is not an IDX file: the magic number must be "
                         f"00 00 <type code in {[hex(c) for c in IDX_DTYPES]}> <ndim >= 1>, "
                         f"got {raw[:4].hex(' ') or 'an empty file'}")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {origin} is truncated: its header needs {header} bytes for "
                         f"{ndim} dimensions, the file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        state = "truncated" if len(raw) - header < expected else "too long"
        raise ValueError(f"read_idx: {origin} is {state}: dimensions {dims} of {dtype.name} need "
                         f"{expected} bytes of data, the file has {len(raw) - header}")
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a native-endian, writable copy


def mnist_cache_dir() -> Path:
    """Where MNIST is cached: ``$XDG_CACHE_HOME/convnb/mnist``, else ``~/.cache/convnb/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convnb" / "mnist"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename it: a reader, or an
    interrupted download, never sees a partial file under the final name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mnist_file(filename: str, folder: Path, download: bool, timeout: float) -> Path:
    """The verified cached file, downloading it first if needed and allowed."""
    path, expected = folder / filename, MNIST_SHA256[filename]
    if path.exists():
        got = _sha256(path.read_bytes())
        if got != expected:
            raise MnistUnavailable(f"load_mnist: the cached file {path} has SHA-256 {got}, "
                                   f"expected {expected}; it is damaged or not the MNIST file. "
                                   f"Delete it and call load_mnist again to download it")
        return path
    if not download:
        raise MnistUnavailable(f"load_mnist: {filename} is not in the cache {folder} and "
                               f"download=False; call with download=True or copy the file "
                               f"there. Meanwhile {_FALLBACK}")
    tried = []
    for url in (mirror + filename for mirror in MNIST_MIRRORS):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (OSError, http.client.HTTPException) as err:  # URLError and timeouts are OSErrors
            tried.append(f"{url} ({err})")
            continue
        if _sha256(data) != expected:
            tried.append(f"{url} (SHA-256 {_sha256(data)}, expected {expected})")
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
        except OSError as err:
            raise MnistUnavailable(f"load_mnist: cannot write the cache {path}: {err}; pass "
                                   f"root= a writable folder") from err
        return path
    raise MnistUnavailable(f"load_mnist: could not download {filename} into the cache {folder}. "
                           f"Tried: {'; '.join(tried)}. Without network, copy the four MNIST "
                           f"files into that folder; meanwhile {_FALLBACK}")


def load_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    kind: str = "train",
    dtype: DTypeLike = np.float32,
    timeout: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits: 60,000 training (``kind="train"``) or 10,000 test images.

    The gzipped IDX files are read from the cache folder ``root`` (default
    :func:`mnist_cache_dir`). A missing file is downloaded, when ``download`` is true, from the
    first of :data:`MNIST_MIRRORS` that answers within ``timeout`` seconds; each file's SHA-256
    must equal :data:`MNIST_SHA256`, so a wrong or damaged file is never used, and files are
    written atomically, so an interrupted download leaves nothing behind.

    Raises :class:`MnistUnavailable` (an ``OSError``) when a file is neither cached nor
    downloadable, or a cached one fails its checksum; the message names the cache folder, the
    URLs tried and the fallback, :func:`load_digits`.

    Shapes: -> x (N, 1, 28, 28) in [0, 1]; y (N,) int64 in 0..9
    """
    if kind not in MNIST_FILES:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}")
    dt = _float_dtype(dtype, "load_mnist")
    folder = Path(root) if root is not None else mnist_cache_dir()
    images_file, labels_file = MNIST_FILES[kind]
    images = read_idx(_mnist_file(images_file, folder, download, timeout))
    labels = read_idx(_mnist_file(labels_file, folder, download, timeout))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"load_mnist: expected images (N, H, W) and labels (N,) in {folder}, "
                         f"got shapes {images.shape} and {labels.shape}")
    return (images[:, None] / 255.0).astype(dt), labels.astype(np.int64)


def load_dataset(
    name: str, fallback: bool = True, dtype: DTypeLike = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """A dataset by name: "digits" (:func:`load_digits`), "mnist" (the training set of
    :func:`load_mnist`) or "faces" (:func:`load_faces`).

    With ``fallback=True``, when MNIST is unavailable (no network and no cache) this warns with a
    ``UserWarning`` that gives the reason and returns the digits instead, so a notebook keeps
    running offline; check ``x.shape`` to see which you got. With ``fallback=False`` the
    :class:`MnistUnavailable` error propagates.

    Shapes: -> x (N, 1, H, W) in [0, 1]; y (N,) int64
    """
    if name == "digits":
        return load_digits(dtype=dtype)
    if name == "faces":
        return load_faces(dtype=dtype)
    if name == "mnist":
        try:
            return load_mnist(dtype=dtype)
        except MnistUnavailable as err:
            if not fallback:
                raise
            warnings.warn(f"load_dataset: MNIST is unavailable, returning the 8x8 digits of "
                          f"load_digits() instead ({err})", UserWarning, stacklevel=2)
            return load_digits(dtype=dtype)
    raise ValueError(f"load_dataset: name must be one of {DATASETS}, got {name!r}")


def _check_xy(x: Any, y: Any, fn: str) -> int:
    """How many examples ``x`` and ``y`` hold (``Any``: what they are is what this checks)."""
    for arg, a in (("x", x), ("y", y)):
        if not hasattr(a, "shape") or len(a.shape) == 0:
            raise TypeError(f"{fn}: {arg} must be an array with examples along axis 0, "
                            f"got {type(a).__name__} of shape {getattr(a, 'shape', None)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{fn}: x and y must hold the same number of examples, "
                         f"got x.shape[0] = {x.shape[0]} and y.shape[0] = {y.shape[0]}")
    return int(x.shape[0])


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of minibatches ``(xb, yb)``, each example in exactly one batch.

    ``shuffle`` draws the order from ``np.random.default_rng(seed)``: the same integer seed gives
    the same batches; pass a Generator to draw a new order each epoch. The last batch is smaller
    when ``batch_size`` does not divide N, unless ``drop_last`` drops it. Batches are copies:
    ``x`` and ``y`` are never modified.

    Shapes: x (N, ...), y (N, ...) -> xb (B, ...), yb (B, ...), B <= batch_size
    """
    n = _check_xy(x, y, "batches")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n

    def epoch() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, stop, batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]

    return epoch()


def train_test_split(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 0.2,
    seed: int | np.random.Generator | None = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``ceil(test_fraction * N)`` examples, returned in scikit-learn's order
    ``x_train, x_test, y_train, y_test``.

    With ``stratify`` every class (value of ``y``) gets the same share of the test set, up to
    rounding (largest remainders), so class proportions match in both parts. Which examples are
    held out is drawn from ``np.random.default_rng(seed)``; each part keeps the original order.

    Shapes: x (N, ...), y (N,) -> x_train (N - T, ...), x_test (T, ...), y_train (N - T,),
    y_test (T,)
    """
    n = _check_xy(x, y, "train_test_split")
    n_test = int(np.ceil(test_fraction * n)) if 0 < test_fraction < 1 else 0
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_fraction must leave at least one example on "
                         f"each side, a float in (0, 1); got {test_fraction!r} for N = {n}")
    rng = np.random.default_rng(seed)
    if not stratify:
        test = rng.permutation(n)[:n_test]
    else:
        if len(y.shape) != 1:
            raise ValueError(f"train_test_split: stratify needs labels y of shape (N,), got "
                             f"{tuple(y.shape)}; pass stratify=False")
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        quota = n_test * counts / n
        share = np.floor(quota).astype(int)
        largest_remainders = np.argsort(share - quota, kind="stable")[: n_test - share.sum()]
        share[largest_remainders] += 1
        test = np.concatenate([rng.permutation(np.flatnonzero(inverse == c))[: share[c]]
                               for c in range(len(classes))])
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    return x[~is_test], x[is_test], y[~is_test], y[is_test]
