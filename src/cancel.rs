//! The cancellation token: whoever runs a command (the command line's Ctrl-C handler, a test,
//! a future server) holds one clone and the stages another. No process-wide state, so two
//! runs in one process stop independently.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cheap to clone; every clone sees the same request to stop.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every stage holding this token to stop at its next check. Safe from a signal
    /// handler's thread.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
