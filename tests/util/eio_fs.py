#!/usr/bin/env python3
"""A read-only FUSE view of a folder in which one file fails like a scratched disc: every read
of it that reaches past OFFSET gets EIO from the kernel. Used by tests/faults.rs.

    eio_fs.py SOURCE MOUNTPOINT RELATIVE_FILE OFFSET [FAILURES]

With FAILURES, only that many such reads fail, and the later ones succeed: a marginal sector
that a drive reads on a second or third try. Runs in the foreground until unmounted (umount
MOUNTPOINT)."""
import errno
import os
import sys

from fuse import FUSE, FuseOSError, Operations


class ScratchedDisc(Operations):
    def __init__(self, root, bad, offset, failures=None):
        self.root = root
        self.bad = "/" + bad.strip("/")
        self.offset = offset
        self.failures = failures

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        keys = ("st_mode", "st_size", "st_nlink", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")
        return {k: getattr(st, k) for k in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EROFS)
        return os.open(self._full(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        if path == self.bad and offset + size > self.offset:
            if self.failures is None:
                raise FuseOSError(errno.EIO)
            if self.failures > 0:
                self.failures -= 1
                raise FuseOSError(errno.EIO)
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)


if __name__ == "__main__":
    source, mountpoint, bad, offset = sys.argv[1:5]
    failures = int(sys.argv[5]) if len(sys.argv) > 5 else None
    # direct_io: every read reaches us (no kernel read-ahead hiding the error or caching pages).
    # nothreads: the count of failures is kept by one thread.
    FUSE(ScratchedDisc(source, bad, int(offset), failures), mountpoint, foreground=True, ro=True,
         direct_io=True, nothreads=True)
