"""The bundle's weights file: the persistent region (parameters and optimizer state), versioned
and checksummed.

Where it sits: written by compiler/bundle/build.py from the network's initial values, read and
written again by the library's C code (csource.py reads these constants, so the format is
declared once, here), and read by runtime/bundle.py's tests. The layout, little-endian:

    offset  0  8 bytes  magic "NETCWGT\\0"
            8  u32      format version (FORMAT_VERSION)
           12  u32      header bytes (HEADER.size)
           16  u64      model id: a hash of the tensors' names, types and offsets (spec.py)
           24  u64      payload bytes: the size of the persistent region
           32  ...      the payload: each tensor at its offset in the region, as the kernels
                        read it (parameters in PyTorch's layouts), padding zero
    32 + payload  u32   CRC-32 (zlib's) of the header and the payload
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from compiler.bundle.spec import BundleSpec
from ir.types import NUMPY_DTYPE
from runtime.network import Network

MAGIC = b"NETCWGT\0"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sIIQQ")
TRAILER = struct.Struct("<I")


def region_bytes(spec: BundleSpec, net: Network) -> bytes:
    """The persistent region of `net` laid out as `spec` says (its current values)."""
    region = np.zeros(spec.persistent_bytes, dtype=np.uint8)
    for tensors, store in ((spec.params, net.params), (spec.state, net.state)):
        for t in tensors:
            data = np.ascontiguousarray(store[t.name], dtype=NUMPY_DTYPE[t.dtype])
            region[t.offset:t.offset + data.nbytes] = data.reshape(-1).view(np.uint8)
    return region.tobytes()


def weights_file(model_id: int, payload: bytes) -> bytes:
    """The bytes of a weights file holding `payload`."""
    header = HEADER.pack(MAGIC, FORMAT_VERSION, HEADER.size, model_id, len(payload))
    return header + payload + TRAILER.pack(zlib.crc32(header + payload))


def write_weights(path: Path, model_id: int, payload: bytes) -> None:
    path.write_bytes(weights_file(model_id, payload))


def read_payload(path: Path, model_id: int) -> bytes:
    """The payload of a weights file (what the C library checks, in Python, for tests and
    tools); a file that fails a check raises ValueError naming it."""
    data = path.read_bytes()
    if len(data) < HEADER.size + TRAILER.size:
        raise ValueError(f"{path}: too short for a weights file")
    magic, version, header_bytes, found_id, size = HEADER.unpack_from(data)
    if magic != MAGIC or header_bytes != HEADER.size or version != FORMAT_VERSION:
        raise ValueError(f"{path}: not a version {FORMAT_VERSION} netc weights file")
    if found_id != model_id:
        raise ValueError(f"{path}: weights of another model")
    if len(data) != HEADER.size + size + TRAILER.size:
        raise ValueError(f"{path}: {len(data)} bytes, the header says {size} of payload")
    (crc,) = TRAILER.unpack_from(data, HEADER.size + size)
    if crc != zlib.crc32(data[:HEADER.size + size]):
        raise ValueError(f"{path}: checksum mismatch")
    return data[HEADER.size:HEADER.size + size]
