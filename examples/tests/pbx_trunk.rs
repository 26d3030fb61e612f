//! The PBX registers to its trunk with digest auth, and removes the binding when it stops.
//! The "trunk" is a second PBX whose registrar challenges (401) every REGISTER without valid
//! credentials, so the first REGISTER is challenged and the second carries Authorization.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on setup errors"
)]

mod phone_support;

use std::net::SocketAddr;
use std::time::Duration;

use phone_support::{RunningPbx, any_port, start_pbx};
use telox_examples::config::{PbxConfig, Trunk};
use telox_examples::pbx::PbxSummary;
use tokio::sync::mpsc;

struct Running {
    pbx: RunningPbx,
    log: mpsc::Receiver<String>,
}

/// Starts a PBX on a port of the OS's choice and waits until it is bound.
async fn start(cfg: PbxConfig, seed: u64) -> Running {
    let (tx, log) = mpsc::channel(1024);
    let pbx = start_pbx(cfg, seed, Some(tx)).await;
    Running { pbx, log }
}

impl Running {
    /// Collects log lines until one contains `needle` (or the time runs out).
    async fn wait_for(&mut self, needle: &str, lines: &mut Vec<String>) -> bool {
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(end, self.log.recv()).await {
                Ok(Some(l)) => {
                    let hit = l.contains(needle);
                    lines.push(l);
                    if hit {
                        return true;
                    }
                }
                _ => return false,
            }
        }
    }

    async fn stop(mut self, lines: &mut Vec<String>) -> PbxSummary {
        let s = self.pbx.stop().await;
        while let Ok(l) = self.log.try_recv() {
            lines.push(l);
        }
        s
    }
}

fn pbx_with_trunk(trunk: SocketAddr, user: &str, password: &str) -> PbxConfig {
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1001, Some(trunk));
    let t = cfg.trunks.first_mut().unwrap();
    t.username = Some(user.into());
    t.password = Some(password.into());
    t.register = true;
    t.register_expires = 120;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_registers_to_its_trunk_with_digest_and_unregisters_at_stop() {
    let mut trunk = start(PbxConfig::demo(any_port(), 5000, 5000, None), 7).await;
    let trunk_addr = trunk.pbx.addr;
    let mut pbx = start(pbx_with_trunk(trunk_addr, "5000", "5000"), 8).await;
    let (mut tl, mut pl) = (Vec::new(), Vec::new());
    assert!(
        pbx.wait_for("trunk trunk: registered sip:5000@", &mut pl)
            .await,
        "{pl:?}"
    );
    assert!(
        trunk.wait_for("registered sip:5000@", &mut tl).await,
        "{tl:?}"
    );
    let s = pbx.stop(&mut pl).await;
    assert_eq!(s.trunk_registrations, 1, "{pl:?}");
    assert_eq!(s.trunks_registered, 0, "{pl:?}");
    assert!(
        pl.iter().any(|l| l.contains("trunk trunk: unregistered")),
        "{pl:?}"
    );
    // The trunk saw the binding go (Expires: 0): a second successful REGISTER transaction.
    assert!(
        trunk.wait_for("unregistered sip:5000@", &mut tl).await,
        "{tl:?}"
    );
    let ts = trunk.stop(&mut tl).await;
    assert_eq!(ts.registrations, 2, "{tl:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_reports_a_refused_trunk_registration() {
    let trunk = start(PbxConfig::demo(any_port(), 5000, 5000, None), 9).await;
    let trunk_addr = trunk.pbx.addr;
    let mut pbx = start(pbx_with_trunk(trunk_addr, "5000", "wrong"), 10).await;
    let mut pl = Vec::new();
    assert!(
        pbx.wait_for("trunk trunk: registration failed (401)", &mut pl)
            .await,
        "{pl:?}"
    );
    let s = pbx.stop(&mut pl).await;
    assert_eq!(s.trunk_registrations, 0);
    assert_eq!(s.trunks_registered, 0);
    let ts = trunk.stop(&mut Vec::new()).await;
    assert_eq!(ts.registrations, 0);
}

#[test]
fn trunk_registration_config_is_checked() {
    // Only checked, never bound: documentation addresses (RFC 5737).
    let mut cfg = PbxConfig::demo("192.0.2.1:5060".parse().unwrap(), 1000, 1001, None);
    let mut t = Trunk::plain("carrier", "192.0.2.2:5060".parse::<SocketAddr>().unwrap());
    t.register = true;
    cfg.trunks.push(t.clone());
    assert!(
        cfg.validate()
            .unwrap_err()
            .to_string()
            .contains("needs username and password")
    );
    t.username = Some("a".into());
    t.password = Some("b".into());
    let mut other = t.clone();
    other.name = "second".into();
    other.password = Some("c".into());
    cfg.trunks = vec![t.clone(), other];
    assert!(
        cfg.validate()
            .unwrap_err()
            .to_string()
            .contains("share one")
    );
    let registrar: SocketAddr = "192.0.2.3:5060".parse().unwrap();
    t.registrar = Some(registrar.into());
    let reg = t.registration().unwrap().unwrap();
    assert_eq!(reg.target, registrar);
    assert_eq!(reg.aor.to_string(), format!("sip:a@{registrar}"));
    assert_eq!(reg.expires, 3600);
}
