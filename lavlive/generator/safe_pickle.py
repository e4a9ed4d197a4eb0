"""A pickle reader that never runs code from the file.

Network pickles from NVIDIA's StyleGAN repositories rebuild their classes from Python source
embedded in the file. Here every global the pickle names is looked up in an explicit allowlist
of inert constructors (containers, NumPy arrays, tensors); anything else is refused by name.
Class instances become `PersistentObject` / `TFNetwork` records holding their state as plain
data: the embedded source is kept as text and never executed. Tensor bytes inside the pickle
are read with torch's weights-only loader.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

import numpy as np
import torch


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for something outside the allowlist."""


@dataclass
class PersistentObject:
    """A `torch_utils.persistence` object (stylegan2-ada / stylegan3 networks), as data."""

    class_name: str
    module_src: str
    state: dict[str, Any]


@dataclass
class TFNetwork:
    """A `dnnlib.tflib.network.Network` (original TensorFlow StyleGAN2), as data."""

    state: dict[str, Any] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise UnsafePickleError("dnnlib.tflib.network.Network state is not a dict")
        self.state = state


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict: a plain dict."""


class _NdarrayMarker:
    """Stands for numpy.ndarray where a pickle names it: only `_numpy_reconstruct` accepts it."""


NDARRAY = _NdarrayMarker()


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise UnsafePickleError("torch_utils.persistence object with unexpected metadata")
    # A damaged file may lack the name or the source: keep "" rather than the text 'None'.
    name, src = meta.get("class_name"), meta.get("module_src")
    return PersistentObject(name if isinstance(name, str) else "", src if isinstance(src, str) else "", meta["state"])


def _numpy_reconstruct(subtype: Any, *_shape_and_code: Any) -> np.ndarray:
    """An empty array that the pickle's BUILD then fills from bytes stored in the file."""
    if subtype is not NDARRAY:
        raise UnsafePickleError("numpy array of an unsupported subtype")
    return np.ndarray((0,), np.uint8)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, (bytes, str)):
        raise UnsafePickleError("numpy scalar of an unsupported type")
    raw = data.encode("latin1") if isinstance(data, str) else data
    return np.frombuffer(raw, dtype=dtype, count=1)[0]


def _numpy_dtype(obj: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(obj, str):
        raise UnsafePickleError(f"numpy dtype from {type(obj).__name__} is refused")
    dtype = np.dtype(obj, align, copy)
    if dtype.hasobject:
        raise UnsafePickleError("numpy object dtype is refused")
    return dtype


def _codecs_encode(text: Any, encoding: str = "latin1") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode is only allowed for latin1 bytes")
    return text.encode("latin1")


def _load_storage_bytes(blob: Any) -> Any:
    """torch.storage._load_from_bytes, but weights-only: the blob's own pickle is restricted too."""
    if not isinstance(blob, (bytes, bytearray)):
        raise UnsafePickleError("torch.storage._load_from_bytes without bytes")
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "refused"
        raise UnsafePickleError(f"tensor storage holds a pickle torch refuses to load: {first}") from None


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_ignored: Any) -> torch.Tensor:
    """A dense view into a storage read from the file; views that overlap or reach past it are refused."""
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError("tensor rebuilt from something that is not a storage")
    if isinstance(storage, torch.TypedStorage):
        dtype, storage = storage.dtype, storage._untyped_storage
    else:
        dtype = torch.uint8
    if not (isinstance(offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)
            and len(size) == len(stride) and all(isinstance(v, int) and v >= 0 for v in (offset, *size, *stride))):
        raise UnsafePickleError("tensor with a malformed size or stride")
    available = storage.nbytes() // torch.empty((), dtype=dtype).element_size()
    if not _is_dense(size, stride) or offset + math.prod(size) > available:
        raise UnsafePickleError("tensor view overlaps itself or reaches past its storage")
    return torch.empty((0,), dtype=dtype).set_(storage, offset, size, stride)


def _is_dense(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """True when the view covers a contiguous block once (any dimension order)."""
    expected = 1
    for n, st in sorted(((n, st) for n, st in zip(size, stride) if n != 1), key=lambda p: p[1]):
        if st != expected:
            return False
        expected *= n
    return True


def _rebuild_parameter(data: Any, requires_grad: Any = False, *_ignored: Any) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError("parameter rebuilt from something that is not a tensor")
    return data


ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _codecs_encode,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): NDARRAY,
    **{(mod, "scalar"): _numpy_scalar for mod in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(mod, "_reconstruct"): _numpy_reconstruct for mod in ("numpy.core.multiarray", "numpy._core.multiarray")},
}


class RestrictedUnpickler(pickle._Unpickler):
    """The allowlist on CPython's pure-Python unpickler, whose memo is a dict. The C unpickler keeps its memo
    in an array sized by the largest index stored: one flipped bit in a PUT index (LONG_BINPUT 536,871,444)
    made it allocate and zero about 8 GiB. Network pickles hold few, large opcodes, so it is as fast here."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            shown = _printable(f"{module}.{name}")
            raise UnsafePickleError(f"refused global '{shown}' (not on the allowlist)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent references are refused")


def _printable(text: str, limit: int = 120) -> str:
    """A name from the file, fit for a one-line message: control characters escaped, length capped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])


def safe_load(file: BinaryIO) -> Any:
    """Unpickle with the allowlist; raises UnsafePickleError naming any refused global.

    An opcode meeting data of the wrong kind (SETITEM on a number, APPEND to None: a damaged stream) raises
    a Python error whose text would describe our internals; it becomes an UnpicklingError saying where."""
    try:
        return RestrictedUnpickler(file).load()
    except (TypeError, AttributeError, IndexError, KeyError):
        where = file.tell() if hasattr(file, "tell") else "?"
        raise pickle.UnpicklingError(f"damaged pickle data near byte {where}") from None
