//! Helpers of the socket tests (tokio drivers on loopback).

use std::time::{Duration, Instant};

use telox_sip_core::tokio::Driver;
use telox_sip_core::ua::{UaEvent, UserAgent};
use tokio::sync::mpsc;

#[expect(clippy::disallowed_methods, reason = "the tests drive real sockets")]
pub(crate) fn clock() -> Instant {
    Instant::now()
}

/// Steps the UA until `pick` accepts an event, within 10 s. Each turn runs until the
/// driver returns by itself, as an application loop would: an event left queued while
/// the driver waits would fail the test.
pub(crate) async fn until<T>(
    driver: &mut Driver,
    ua: &mut UserAgent,
    mut pick: impl FnMut(UaEvent) -> Option<T>,
) -> T {
    let end = clock() + Duration::from_secs(10);
    loop {
        while let Some(event) = ua.poll_event() {
            if let Some(t) = pick(event) {
                return t;
            }
        }
        assert!(clock() < end, "no expected event within 10 s");
        tokio::time::timeout_at(end.into(), driver.step(ua))
            .await
            .expect("the driver kept waiting with no expected event for 10 s")
            .unwrap();
    }
}

/// The next report of a peer task, within 10 s.
pub(crate) async fn seen<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("peer silent for 10 s")
        .expect("peer task ended")
}

/// The UA of a test server at `addr` on `transport`; OPTIONS go to the application (so the
/// test sees their Via).
pub(crate) fn server_agent(
    addr: std::net::SocketAddr,
    transport: telox_sip_core::transaction::Transport,
) -> UserAgent {
    let mut config = telox_sip_core::ua::UaConfig::new(addr, "uas", 7);
    config.transport = transport;
    config.answer_options = false;
    UserAgent::new(config)
}
