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

/// A TCP trunk, and a TLS trunk with a listener and a CA, are taken: the gateway starts,
/// listens, runs its second and stops cleanly. A TLS trunk with a CA but no listener is
/// refused (the carrier's requests would come to a `sips:` Contact nobody answers on), and a
/// CA file that is not one fails at start, not as a silent no-TLS gateway.
#[test]
fn tcp_and_tls_trunks_are_taken() {
    let (ok, stderr) = gateway("sip:127.0.0.1:5080;transport=tcp", &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("and tcp:127.0.0.1:"), "{stderr}");
    let dir = std::env::temp_dir().join(format!("telox-gw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, key) = (dir.join("ca.pem"), dir.join("key.pem"));
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.key_pair.serialize_pem()).unwrap();
    let (ca, key) = (ca.to_str().unwrap(), key.to_str().unwrap());
    let listener = [
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        ca,
        "--tls-key",
        key,
    ];
    let with_ca = [&listener[..], &["--tls-ca", ca]].concat();
    let taken = gateway("sips:127.0.0.1:5081", &with_ca);
    let no_listener = gateway("sips:127.0.0.1:5081", &["--tls-ca", ca]);
    let listener_no_ca = gateway("sips:127.0.0.1:5081", &listener);
    let bad_ca = [&listener[..], &["--tls-ca", "/nonexistent/ca.pem"]].concat();
    let bad_ca = gateway("sips:127.0.0.1:5081", &bad_ca);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(taken.0, "{}", taken.1);
    assert!(!no_listener.0, "{}", no_listener.1);
    assert!(no_listener.1.contains("go together"), "{}", no_listener.1);
    assert!(!listener_no_ca.0, "{}", listener_no_ca.1);
    assert!(
        listener_no_ca.1.contains("needs --tls-ca"),
        "{}",
        listener_no_ca.1
    );
    assert!(!bad_ca.0, "{}", bad_ca.1);
    assert!(bad_ca.1.contains("tls ca"), "{}", bad_ca.1);
}
