//! Ctrl-C and termination requests during a tuning run.
//!
//! Dying on the signal would leave a throwaway cluster running in the temporary directory,
//! or an existing server on the trial's settings. Instead the handlers only record the
//! request; the measurement loops check it after every workload run (pgbench itself stops
//! on Ctrl-C, which reaches the whole foreground process group) and return
//! [`crate::Error::Interrupted`], and the targets' `Drop` restores settings and removes
//! clusters as the error unwinds.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Records an interrupt request (what the signal handlers do).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Turns SIGINT, SIGTERM and SIGHUP into interrupt requests for this process.
pub fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only performs an atomic store, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}
