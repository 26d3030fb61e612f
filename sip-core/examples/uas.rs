//! A UAS for interop tests: answers every INVITE with 180 and 200 (with SDP), answers BYE,
//! and prints a summary when it exits.
//!
//! `uas [--bind 127.0.0.1:5060] [--seconds 30] [--tcp]`

use std::time::{Duration, Instant};

use telox_sip_core::tokio::{Driver, DriverConfig};
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
    let mut driver = Driver::bind(config).await?;
    let mut ua = UserAgent::new(UaConfig::new(driver.local_addr(), "uas", 7));
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
