"""A blob's stored form: a one-byte encoding marker, then raw or zstd bytes, all sealed.

Compression is skipped when it would save under 2% (already compressed or encrypted
data), so restore of such data costs no decompression; for chunks of 128 KiB or more the
decision is made on a 64 KiB sample first.
"""

from __future__ import annotations

import threading

import zstandard

from salvage.repo.crypto import AuthenticationFailed, Cipher

RAW = 0
ZSTD = 1
# Below this saving, storing raw is cheaper to restore and costs almost nothing in size.
_WORTHWHILE = 0.98
_MAX_DECOMPRESSED = 64 * 1024 * 1024
# Chunks whose first 64 KiB do not compress are stored raw without trying the rest
# (media, archives, encrypted data: ~1 s of CPU saved per GiB).
_SAMPLE = 64 * 1024


class BlobCodec:
    """Compress-then-encrypt and back; safe to share between threads."""

    def __init__(self, cipher: Cipher, level: int) -> None:
        self._cipher = cipher
        self._level = level
        # zstandard contexts are not thread-safe; one per thread is cheap and releases the GIL.
        self._local = threading.local()

    def _compressor(self) -> zstandard.ZstdCompressor:
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            compressor = self._local.compressor = zstandard.ZstdCompressor(level=self._level)
        return compressor

    def _decompressor(self) -> zstandard.ZstdDecompressor:
        decompressor = getattr(self._local, "decompressor", None)
        if decompressor is None:
            decompressor = self._local.decompressor = zstandard.ZstdDecompressor()
        return decompressor

    def encode(self, plaintext: bytes | memoryview, associated: bytes) -> bytes:
        if len(plaintext) >= 2 * _SAMPLE and not self._compresses(memoryview(plaintext)[:_SAMPLE]):
            # Random-looking start: compressing the whole chunk would almost surely be wasted.
            return self._cipher.seal(bytes((RAW,)) + plaintext, associated)
        compressed = self._compressor().compress(plaintext)
        if len(compressed) < len(plaintext) * _WORTHWHILE:
            payload = bytes((ZSTD,)) + compressed
        else:
            payload = bytes((RAW,)) + plaintext
        return self._cipher.seal(payload, associated)

    def _compresses(self, sample: memoryview) -> bool:
        return len(self._compressor().compress(sample)) < len(sample) * _WORTHWHILE

    def decode(self, sealed: bytes | memoryview, associated: bytes) -> bytes:
        """The plaintext; raises AuthenticationFailed on any tampering or damage."""
        plain = self.decode_view(sealed, associated)
        return plain if isinstance(plain, bytes) else bytes(plain)

    def decode_view(self, sealed: bytes | memoryview, associated: bytes) -> bytes | memoryview:
        """Like :meth:`decode`, but a raw blob comes back as a view of the decrypted
        payload rather than a copy of it (restore writes it out and drops it)."""
        payload = self._cipher.open(sealed, associated)
        marker, body = payload[0], memoryview(payload)[1:]
        if marker == RAW:
            return body
        if marker == ZSTD:
            try:
                return self._decompressor().decompress(body, max_output_size=_MAX_DECOMPRESSED)
            except zstandard.ZstdError as exc:
                raise AuthenticationFailed(f"bad zstd payload: {exc}") from exc
        raise AuthenticationFailed(f"unknown blob encoding {marker}")
