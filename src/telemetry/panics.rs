//! Panics as an operator sees them: one log line, never a trace on the
//! terminal; a panic in one of the storage engine's own threads stops the
//! process, because sled carries on without that thread and the server
//! would look healthy while its store no longer works. Every acknowledged
//! write is on disk, so stopping loses nothing; the supervisor restarts
//! kicer, and a store that cannot be opened then says so.

use std::any::Any;
use std::cell::Cell;

/// Exit status when the store cannot be read or written (sysexits'
/// EX_IOERR): a damaged store, a full or failing disk. A supervisor can
/// tell it from a bad configuration (1) and alert on it; a restart helps
/// once the disk has room again, not with a damaged store.
pub const EXIT_STORE: u8 = 74;

thread_local! {
    /// Set while [`quietly`] runs: the panic is turned into an error
    /// there, and printing it too would be noise.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// The text of a panic's payload.
fn message(payload: &dyn Any) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs `f`; a panic in it comes back as `Err(message)`, printed by
/// nobody. For calls into a library that panics on bad data (sled on a
/// damaged file), so the caller can say what to do instead.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| message(payload.as_ref()))
}

/// Whether a thread of this name belongs to the storage engine (sled
/// 0.34 names its I/O pool `sled-io-N` and its flusher `log flusher`).
fn is_engine_thread(name: &str) -> bool {
    name.starts_with("sled") || name == "log flusher"
}

/// Installs the process's panic hook (the binary does, once).
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        if QUIET.with(Cell::get) {
            return;
        }
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let text = message(info.payload());
        if is_engine_thread(name) {
            let line = format!(
                "the storage engine's thread {name} failed ({text}{place}): stopping so that the supervisor restarts kicer; if the store cannot be opened then, restore it from a backup"
            );
            tracing::error!("{line}");
            eprintln!("error: {line}");
            std::process::exit(i32::from(EXIT_STORE));
        }
        let line = format!("a bug in kicer: thread {name} panicked{place}: {text}; please report it with this line");
        tracing::error!("{line}");
        eprintln!("error: {line}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_run_quietly_comes_back_as_its_message() {
        let r: Result<(), String> = quietly(|| panic!("tried to serialize Uninitialized"));
        assert_eq!(r, Err("tried to serialize Uninitialized".to_string()));
        assert_eq!(quietly(|| 7), Ok(7));
    }

    #[test]
    fn only_the_storage_engines_threads_stop_the_process() {
        assert!(is_engine_thread("sled-io-3"));
        assert!(is_engine_thread("log flusher"));
        assert!(!is_engine_thread("tokio-runtime-worker"));
        assert!(!is_engine_thread("kicer-backup-watch"));
    }
}
