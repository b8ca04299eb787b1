//! The package file, written with the disk kept busy: every [`KICK`] bytes, a helper thread
//! asks the system to put what is written so far on disk while writing goes on. Without it,
//! the whole package sits in the page cache until the final sync, which then waits seconds
//! for gigabytes at once; with it, the final sync waits for the last part only.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;

const KICK: u64 = 64 * 1024 * 1024;

pub(super) struct WriteBehind {
    file: File,
    unsynced: u64,
    kick: Option<mpsc::SyncSender<()>>,
    flusher: Option<JoinHandle<io::Result<()>>>,
}

impl WriteBehind {
    pub fn new(file: File) -> io::Result<Self> {
        let other = file.try_clone()?;
        // One request may wait while a sync runs; more would add nothing.
        let (kick, requests) = mpsc::sync_channel::<()>(1);
        let flusher = std::thread::Builder::new()
            .name("package-sync".into())
            .spawn(move || {
                for () in requests {
                    // The first error is kept and reported: after a failed sync, a later one
                    // may succeed without the lost data ever reaching the disk.
                    other.sync_data()?;
                }
                Ok(())
            })?;
        Ok(WriteBehind {
            file,
            unsynced: 0,
            kick: Some(kick),
            flusher: Some(flusher),
        })
    }

    /// Stops the helper and syncs everything: the file is on disk when this returns `Ok`.
    pub fn finish(mut self) -> io::Result<File> {
        self.kick = None;
        if let Some(f) = self.flusher.take() {
            f.join()
                .unwrap_or_else(|_| Err(io::Error::other("the sync thread failed")))?;
        }
        self.file.sync_all()?;
        Ok(self.file)
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= KICK {
            self.unsynced = 0;
            if let Some(k) = &self.kick {
                // Full: a sync is pending already and will cover these bytes too.
                let _ = k.try_send(());
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for WriteBehind {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}
