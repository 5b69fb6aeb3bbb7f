"""The deduplicating, encrypted repository behind file-level backups (docs/FORMAT.md).

Files are cut into content-defined chunks, each chunk is named by a keyed hash,
compressed, encrypted and appended to a pack; an index maps chunks to packs; a snapshot
names the root of a tree of directory blobs. Everything is written once and named by
content, so a crash leaves at worst unreferenced packs that ``prune`` removes.

Public entry points: :mod:`~salvage.repo.repository` (init/open), :mod:`~salvage.repo.backup`,
:mod:`~salvage.repo.restore_files`, :mod:`~salvage.repo.check`, :mod:`~salvage.repo.prune`,
:mod:`~salvage.repo.stats`, :mod:`~salvage.repo.locks`. Only :mod:`~salvage.repo.layout`
knows object keys. Storage comes in through :class:`salvage.storage.base.Store`; this
package never imports an object-store SDK.
"""
