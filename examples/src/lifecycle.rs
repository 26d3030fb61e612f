//! How the long-running programs (pbx, gateway) stop: after `--duration`, or on SIGINT or
//! SIGTERM, printing the engine's log lines until then.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;

/// Resolves after `duration`, or, with none, on SIGINT or SIGTERM (SIGINT only where the
/// SIGTERM handler cannot be installed).
pub async fn shutdown_signal(duration: Option<Duration>) {
    if let Some(d) = duration {
        tokio::time::sleep(d).await;
        return;
    }
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Prints each line from `log` to stderr as `<prefix>: <line>` (nothing when `quiet`) until
/// `stop` resolves.
pub async fn print_logs_until(
    prefix: &str,
    quiet: bool,
    log: &mut mpsc::Receiver<String>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            Some(line) = log.recv() => if !quiet { eprintln!("{prefix}: {line}") },
            _ = &mut stop => break,
        }
    }
}

/// Prints the lines still queued in `log` (what the engine logged while it stopped, e.g. the
/// trunk unregistrations), after its task ended.
pub fn print_remaining(prefix: &str, quiet: bool, log: &mut mpsc::Receiver<String>) {
    while let Ok(line) = log.try_recv() {
        if !quiet {
            eprintln!("{prefix}: {line}");
        }
    }
}
