//! The gateway binary's start-up checks: what it refuses before it listens.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::process::Command;

/// Runs the gateway for at most a second with `trunk` (and `extra` arguments); returns
/// whether it exited successfully and its stderr.
fn gateway(trunk: &str, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0", "--trunk", trunk])
        .args(["--allow", "127.0.0.0/8", "--duration", "1s", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TLS trunk (`;transport=tls`, or `sips:` by RFC 3261 §26.2) without `--tls-ca` would
/// fail every call (no CA to verify its certificate with): refused at start with a message.
/// A WebSocket trunk is refused too (WebSocket is for browsers).
#[test]
fn a_tls_trunk_without_a_ca_is_refused_at_start() {
    for trunk in ["sip:127.0.0.1:5081;transport=tls", "sips:127.0.0.1:5081"] {
        let (ok, stderr) = gateway(trunk, &[]);
        assert!(!ok, "{trunk}: {stderr}");
        assert!(stderr.contains("needs --tls-ca"), "{trunk}: {stderr}");
    }
    let (ok, stderr) = gateway("sip:127.0.0.1:5080;transport=ws", &[]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("UDP, TCP or TLS, not WS"), "{stderr}");
}

/// A TCP trunk, and a TLS trunk with a CA, are taken: the gateway starts, listens on UDP
/// and TCP, runs its second and stops cleanly.
#[test]
fn tcp_and_tls_trunks_are_taken() {
    let (ok, stderr) = gateway("sip:127.0.0.1:5080;transport=tcp", &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("and tcp:127.0.0.1:"), "{stderr}");
    let dir = std::env::temp_dir().join(format!("telox-gw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let (ok, stderr) = gateway("sips:127.0.0.1:5081", &["--tls-ca", ca.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{stderr}");
    // A CA file that is not one is an error at start, not a silent no-TLS gateway.
    let (ok, stderr) = gateway("sips:127.0.0.1:5081", &["--tls-ca", "/nonexistent/ca.pem"]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("tls ca"), "{stderr}");
}
