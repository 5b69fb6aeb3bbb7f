"""Container images for the local cluster's real node, built on this machine from Debian's
packages and this checkout (no registry is reachable, and none is needed): see
:mod:`.builders` for what each holds and :mod:`.oci` for the archive format."""
