"""The .aek container: images compressed by a model, as bytes on disk.

Layout, version 1 (every integer little-endian; `f32` IEEE-754 float32):

    offset  size   field
    0       4      magic b"AEK\\x00"
    4       2      u16 format version (1)
    6       8      u64 total file length in bytes, trailer included
    14      32     the model's weights hash: the raw SHA-256 of
                   aekit.io.weights_hash (model.json's "weights_sha256")
    46      6      u16 C, H, W: the image shape
    52      4      u32 N: the image count
    56      2      u16 D: the code size
    58      1      u8 bits per code dimension (1..12)
    59      1      u8 L: the length of the coder's name
    60      L      the coder's name, ASCII ("constriction.ans.categorical")
    ...     8*D    the quantiser: per dimension f32 lo, f32 step; a code
                   value z is the symbol round((z - lo) / step), clipped to
                   0..2**bits - 1, and decodes to lo + symbol * step
                   (step 0: a constant dimension, symbol 0)
    ...     4      u32 T: the length of the frequency table
    ...     T      the table: zlib-deflated u32 counts [D, 2**bits], each
                   dimension's histogram of its symbols in this file; the
                   entropy coder's model for dimension d is the categorical
                   distribution proportional to row d
    ...     4      u32 P: the payload's length (a multiple of 4)
    ...     P      the payload: the ANS coder's u32 words; dimension 0's N
                   symbols decode first, then dimension 1's, ...
    ...     4      u32 CRC-32 (zlib.crc32) of every byte before it

Reading checks, in order, the length, the magic, the version, the total
length (a truncated file), the checksum (a corrupted one), then each field's
range; any failure is one AekitError line. Parsing only unpacks numbers and
inflates one zlib stream of a stated size: nothing in a file is executed.
Whether the file belongs to a given model is the codec's check (codec.py).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from aekit.errors import AekitError

MAGIC = b"AEK\x00"
VERSION = 1
MAX_BITS = 12
CODER = "constriction.ans.categorical"
_PREFIX = struct.Struct("<4sHQ32s3HIHBB")   # magic .. name length: 60 bytes
_U32 = struct.Struct("<I")


@dataclass(frozen=True)
class Container:
    """What one .aek file holds (module docstring)."""
    model_hash: str                 # hex SHA-256 of the model's weights
    shape: tuple[int, int, int]     # C, H, W
    count: int                      # N images
    bits: int
    lo: np.ndarray                  # float32 [D]
    step: np.ndarray                # float32 [D]
    counts: np.ndarray              # uint32 [D, 2**bits]
    payload: bytes
    coder: str = CODER

    @property
    def code_dim(self) -> int:
        return len(self.lo)


def pack(box: Container) -> bytes:
    """The bytes of `box`, checksum included."""
    name = box.coder.encode("ascii")
    table = zlib.compress(np.ascontiguousarray(box.counts, dtype="<u4").tobytes(), 9)
    quantiser = np.stack([box.lo, box.step], axis=1).astype("<f4").tobytes()
    body_after = (quantiser + _U32.pack(len(table)) + table + _U32.pack(len(box.payload)) + box.payload)
    total = _PREFIX.size + len(name) + len(body_after) + _U32.size
    head = _PREFIX.pack(MAGIC, VERSION, total, bytes.fromhex(box.model_hash), *box.shape, box.count,
                        box.code_dim, box.bits, len(name))
    body = head + name + body_after
    return body + _U32.pack(zlib.crc32(body))


def unpack(data: bytes, source: str = "the file") -> Container:
    """The container in `data`; `source` names it in errors."""
    data = bytes(data)
    if len(data) < 4 or data[:4] != MAGIC:
        raise AekitError(f"{source} is not an .aek file (no AEK magic at its start): give a file that "
                         f"`aekit compress` wrote")
    if len(data) < _PREFIX.size + _U32.size:
        raise AekitError(f"{source} is truncated ({len(data)} bytes, shorter than an .aek header): "
                         f"compress the images again")
    (_, version, total, digest, c, h, w, count, dim, bits, name_len) = _PREFIX.unpack_from(data)
    if version != VERSION:
        newer = "a newer" if version > VERSION else "an unknown"
        raise AekitError(f"{source} is .aek format version {version}, {newer} version than this aekit reads "
                         f"({VERSION}): decompress it with the aekit that wrote it")
    if len(data) != total:
        what = "truncated" if len(data) < total else "followed by extra bytes"
        raise AekitError(f"{source} is {what}: {len(data)} bytes where its header says {total}; "
                         f"the file is damaged: compress the images again")
    (crc,) = _U32.unpack_from(data, len(data) - _U32.size)
    if zlib.crc32(data[:-_U32.size]) != crc:
        raise AekitError(f"{source} is corrupted: its CRC-32 checksum does not match its contents; "
                         f"compress the images again")
    return _fields(data, source, digest.hex(), (c, h, w), count, dim, bits, name_len)


def _fields(data: bytes, source: str, digest: str, shape: tuple[int, int, int], count: int, dim: int,
            bits: int, name_len: int) -> Container:
    """The fields after the fixed prefix of a file whose length and checksum are right."""
    def bad(what: str) -> AekitError:
        return AekitError(f"{source} is not a valid .aek file ({what}): compress the images again")

    if not 1 <= bits <= MAX_BITS or dim == 0 or count == 0 or 0 in shape:
        raise bad(f"bits {bits}, code size {dim}, {count} images, shape {list(shape)}")
    pos = _PREFIX.size
    try:
        coder = data[pos:pos + name_len].decode("ascii")
        pos += name_len
        quantiser = np.frombuffer(data, "<f4", 2 * dim, pos).reshape(dim, 2).astype(np.float32)
        pos += 8 * dim
        (table_len,) = _U32.unpack_from(data, pos)
        table = data[pos + 4:pos + 4 + table_len]
        pos += 4 + table_len
        (payload_len,) = _U32.unpack_from(data, pos)
        payload = data[pos + 4:pos + 4 + payload_len]
        pos += 4 + payload_len
    except (struct.error, ValueError, UnicodeDecodeError) as err:
        raise bad(str(err)) from None
    if coder != CODER:
        raise AekitError(f"{source} was coded with {coder!r}; this aekit decodes {CODER!r} only")
    if pos != len(data) - _U32.size or len(table) != table_len or payload_len % 4:
        raise bad("its sections' lengths do not add up")
    counts = _table(table, dim, bits, bad)
    _check_counts(counts, count, bad)
    if not np.isfinite(quantiser).all() or (quantiser[:, 1] < 0).any():
        raise bad("a quantiser step is negative or not finite")
    return Container(digest, shape, count, bits, quantiser[:, 0].copy(), quantiser[:, 1].copy(), counts,
                     payload, coder)


def _table(table: bytes, dim: int, bits: int, bad) -> np.ndarray:
    """The frequency table, inflated no further than its stated size."""
    size = dim * (1 << bits) * 4
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(table, size)
    except zlib.error as err:
        raise bad(f"its frequency table does not inflate: {err}") from None
    if len(raw) != size or inflater.unconsumed_tail or not inflater.eof:
        raise bad("its frequency table has the wrong size")
    return np.frombuffer(raw, "<u4").reshape(dim, 1 << bits).astype(np.uint32)


def _check_counts(counts: np.ndarray, count: int, bad) -> None:
    """Each dimension's histogram counts every one of the N symbols once."""
    if (counts.sum(axis=1, dtype=np.uint64) != count).any():
        raise bad(f"its frequency table does not count {count} symbols in each dimension")
