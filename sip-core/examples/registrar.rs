//! A registrar for interop tests: REGISTER with digest authentication against users given
//! as `--user name:password` (repeatable), realm `--realm` (default: the bind address).
//! `--algorithms md5` offers MD5 only (SIPp 3.6 answers MD5 challenges only); the default
//! offers SHA-256 then MD5 (RFC 8760).
//!
//! `registrar [--bind 127.0.0.1:5060] [--seconds 30] --user alice:secret`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use telox_sip_core::Method;
use telox_sip_core::auth::{DigestAlgorithm, DigestSecret, DigestServer, DigestServerConfig};
use telox_sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService,
};
use telox_sip_core::tokio::{Driver, DriverConfig};
use telox_sip_core::transaction::{TransactionConfig, TransactionEvent, Transactions};

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
    let users: HashMap<String, String> = args
        .windows(2)
        .filter(|w| w[0] == "--user")
        .filter_map(|w| w[1].split_once(':'))
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .collect();
    let mut driver = Driver::bind(DriverConfig::new(
        bind.parse().map_err(std::io::Error::other)?,
    ))
    .await?;
    let realm = arg("--realm")
        .cloned()
        .unwrap_or_else(|| driver.local_addr().ip().to_string());
    let mut auth = DigestServerConfig::new(realm, 5);
    if arg("--algorithms").is_some_and(|a| a == "md5") {
        auth.algorithms = vec![DigestAlgorithm::Md5];
    }
    let lookup = move |u: &str| users.get(u).map(|p| DigestSecret::Password(p.clone()));
    let mut service = RegistrarService::with_auth(
        Registrar::new(RegistrarConfig::default(), MemoryLocationStore::default()),
        DigestServer::new(auth),
        lookup,
    );
    let mut txns = Transactions::new(TransactionConfig::default());
    eprintln!("registrar listening on {}", driver.local_addr());
    let (mut challenged, mut registered, mut refused) = (0u64, 0u64, 0u64);
    let mut tag = 0u64;
    let end = clock() + Duration::from_secs(seconds);
    while clock() < end {
        if let Ok(r) = tokio::time::timeout_at(end.into(), driver.step(&mut txns)).await {
            r?;
        }
        let now = clock();
        while let Some(event) = txns.poll_event() {
            let TransactionEvent::Request { key, request, .. } = event else {
                continue;
            };
            tag += 1;
            let response = if *request.method() == Method::Register {
                let (response, outcome) = service.handle(now, &request, &format!("reg{tag}"));
                match outcome {
                    RegisterOutcome::Challenged { .. } => challenged += 1,
                    RegisterOutcome::Registered { .. } => registered += 1,
                    _ => refused += 1,
                }
                response
            } else {
                telox_sip_core::Response::builder(&request, telox_sip_core::StatusCode(405))
                    .to_tag(&format!("reg{tag}"))
                    .build()
            };
            let _ = txns.send_response(now, &key, response);
        }
    }
    driver.flush(&mut txns).await?;
    println!("registrar challenged={challenged} registered={registered} refused={refused}");
    Ok(())
}

#[expect(
    clippy::disallowed_methods,
    reason = "an example program reads the real clock"
)]
fn clock() -> Instant {
    Instant::now()
}
