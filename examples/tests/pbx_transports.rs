//! The PBX takes SIP over TCP (on its UDP address) and TLS (its own listener, certificate from
//! PEM files): a sip-core user agent registers over each with digest auth (401, then
//! Authorization on the same connection), and a phone on UDP registers at the same time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on setup errors"
)]

mod phone_support;

use std::net::SocketAddr;
use std::time::Duration;

use phone_support::{any_port, start_pbx};
use sip_core::tokio::{Driver, DriverConfig, TlsConfig, tls};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_examples::config::{PbxConfig, TlsListen};
use tokio::sync::mpsc;

/// Registers `user` (password = user) at `registrar` over `transport`; true once a 200 came.
async fn register(
    user: &str,
    transport: Transport,
    pbx: SocketAddr,
    tls: Option<TlsConfig>,
) -> Result<u32, String> {
    let mut dc = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dc.tls = tls;
    let mut driver = Driver::bind(dc).await.map_err(|e| e.to_string())?;
    let seed = user.parse::<u64>().unwrap_or(5);
    let mut cfg = UaConfig::new(driver.local_addr(), user, seed);
    cfg.transport = transport;
    cfg.credentials = Some((user.into(), user.into()));
    let mut ua = UserAgent::new(cfg);
    let scheme = if transport == Transport::Tls {
        "sips"
    } else {
        "sip"
    };
    let registrar = format!("{scheme}:{}", pbx.ip()).parse().unwrap();
    let aor = format!("{scheme}:{user}@{}", pbx.ip()).parse().unwrap();
    let target = Target {
        transport,
        addr: pbx,
    };
    let now = telox_examples::clock();
    ua.register(now, registrar, aor, target, 300)
        .map_err(|e| e.to_string())?;
    let work = async {
        loop {
            driver.step(&mut ua).await.map_err(|e| e.to_string())?;
            while let Some(ev) = ua.poll_event() {
                match ev {
                    UaEvent::Registered { expires, .. } => return Ok(expires),
                    UaEvent::RegistrationFailed { status, .. } => {
                        return Err(format!("registration failed: {status}"));
                    }
                    _ => {}
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| "timed out".to_string())?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_register_over_tcp_and_tls() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();

    let mut cfg = PbxConfig::demo(any_port(), 1000, 1003, None);
    cfg.tls = Some(TlsListen {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: cert.clone(),
        key,
        ca: None,
    });
    let (tx, mut log) = mpsc::channel(1024);
    let pbx = start_pbx(cfg, 3, Some(tx)).await;
    let listen = pbx.addr;
    let mut lines = Vec::new();
    let tls_addr: SocketAddr = loop {
        let l = tokio::time::timeout(Duration::from_secs(10), log.recv())
            .await
            .expect("the PBX logs its TLS listener")
            .unwrap();
        lines.push(l.clone());
        if let Some(a) = l.strip_prefix("listening on tls:") {
            break a.parse().unwrap();
        }
    };

    let udp = register("1000", Transport::Udp, listen, None).await;
    assert_eq!(udp, Ok(300), "{lines:?}");
    let tcp = register("1001", Transport::Tcp, listen, None).await;
    assert_eq!(tcp, Ok(300), "{lines:?}");
    let roots = tls::root_store(tls::load_certs(&cert).unwrap()).unwrap();
    let client = TlsConfig::new(None, None, Some(tls::client_config(roots).unwrap()));
    let over_tls = register("1002", Transport::Tls, tls_addr, Some(client)).await;
    assert_eq!(over_tls, Ok(300), "{lines:?}");
    // A client that does not trust the certificate gets no registration.
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let other = dir.join("other.pem");
    std::fs::write(&other, stranger.cert.pem()).unwrap();
    let roots = tls::root_store(tls::load_certs(&other).unwrap()).unwrap();
    let client = TlsConfig::new(None, None, Some(tls::client_config(roots).unwrap()));
    let refused = register("1003", Transport::Tls, tls_addr, Some(client)).await;
    assert!(refused.is_err(), "{refused:?}");

    let summary = pbx.stop().await;
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert_eq!(summary.registrations, 3, "{lines:?}");
    for user in ["1000", "1001", "1002"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("registered sip:{user}@"))
                    || l.starts_with(&format!("registered sips:{user}@"))),
            "{user}: {lines:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
