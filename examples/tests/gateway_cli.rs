//! The gateway binary's start-up checks: what it refuses before it listens.

use std::process::Command;

/// The gateway has one UDP socket and no TCP or TLS driver, so a trunk whose URI names
/// another transport (or a `sips:` one, TLS by RFC 3261 §26.2) is refused at start with a
/// message, not accepted and then left to time out on every call (its INVITE, with a TCP
/// Via, went out over UDP to the trunk's TCP port).
#[test]
fn a_trunk_over_tcp_or_tls_is_refused_at_start() {
    for trunk in [
        "sip:127.0.0.1:5080;transport=tcp",
        "sip:127.0.0.1:5081;transport=tls",
        "sips:127.0.0.1:5081",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["--listen", "127.0.0.1:0", "--trunk", trunk])
            .args(["--allow", "127.0.0.0/8", "--duration", "1s", "--quiet"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{trunk}: {stderr}");
        assert!(stderr.contains("UDP only"), "{trunk}: {stderr}");
    }
}
