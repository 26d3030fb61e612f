//! A UAS for interop tests: answers every INVITE with 180 and 200 (with SDP), answers BYE,
//! and prints a summary when it exits.
//!
//! `uas [--bind 127.0.0.1:5060] [--seconds 30] [--tcp] [--tls CERT KEY [--tls-bind ADDR]]
//!      [--ws ADDR]`
//!
//! With `--tls` it also listens for TLS at `--tls-bind` (default 127.0.0.1:5061) with the
//! PEM certificate chain and key, and writes TLS in its Via and Contact. With `--ws` it
//! also listens for SIP over WebSocket (RFC 7118) at ADDR and writes WS in its Via and
//! Contact (it takes precedence over `--tls` there).

use std::time::{Duration, Instant};

use telox_sip_core::tokio::{Driver, DriverConfig, TlsConfig, WsConfig, tls};
use telox_sip_core::transaction::Transport;
use telox_sip_core::ua::{Body, UaConfig, UaEvent, UserAgent};

const SDP: &str = "v=0\r\no=telox 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let bind = arg("--bind").map_or("127.0.0.1:5060", String::as_str);
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(30);
    let mut config = DriverConfig::new(bind.parse().map_err(std::io::Error::other)?);
    config.tcp = args.iter().any(|a| a == "--tcp");
    if let Some(i) = args.iter().position(|a| a == "--tls") {
        let (Some(cert), Some(key)) = (args.get(i + 1), args.get(i + 2)) else {
            return Err(std::io::Error::other("--tls CERT KEY"));
        };
        let chain = tls::load_certs(cert).map_err(std::io::Error::other)?;
        let key = tls::load_private_key(key).map_err(std::io::Error::other)?;
        let server = tls::server_config(chain, key).map_err(std::io::Error::other)?;
        let tls_bind = arg("--tls-bind").map_or("127.0.0.1:5061", String::as_str);
        config.tls = Some(TlsConfig::new(
            Some(tls_bind.parse().map_err(std::io::Error::other)?),
            Some(server),
            None,
        ));
    }
    if let Some(ws) = arg("--ws") {
        config.ws = Some(WsConfig::new(Some(
            ws.parse().map_err(std::io::Error::other)?,
        )));
    }
    let mut driver = Driver::bind(config).await?;
    let mut ua_config = UaConfig::new(driver.local_addr(), "uas", 7);
    if let Some(tls_addr) = driver.tls_local_addr() {
        ua_config.local_addr = tls_addr;
        ua_config.transport = Transport::Tls;
        eprintln!("uas listening for TLS on {tls_addr}");
    }
    if let Some(ws_addr) = driver.ws_local_addr() {
        ua_config.local_addr = ws_addr;
        ua_config.transport = Transport::Ws;
        eprintln!("uas listening for WebSocket on {ws_addr}");
    }
    let mut ua = UserAgent::new(ua_config);
    eprintln!("uas listening on {}", driver.local_addr());
    let (mut incoming, mut confirmed, mut ended) = (0u64, 0u64, 0u64);
    let end = clock() + Duration::from_secs(seconds);
    while clock() < end {
        let step = tokio::time::timeout_at(end.into(), driver.step(&mut ua)).await;
        if let Ok(r) = step {
            r?;
        }
        let now = clock();
        while let Some(event) = ua.poll_event() {
            match event {
                UaEvent::Incoming { leg, .. } => {
                    incoming += 1;
                    let _ = ua.ringing(now, leg, 180, None);
                    let _ = ua.answer(now, leg, Some(Body::sdp(SDP)));
                }
                UaEvent::Confirmed { .. } => confirmed += 1,
                UaEvent::Ended { .. } => ended += 1,
                _ => {}
            }
        }
    }
    driver.flush(&mut ua).await?;
    println!("uas incoming={incoming} confirmed={confirmed} ended={ended}");
    Ok(())
}

#[expect(
    clippy::disallowed_methods,
    reason = "an example program reads the real clock"
)]
fn clock() -> Instant {
    Instant::now()
}
