//! Digest responses against the worked examples of RFC 7616 §3.9.1 and RFC 2617 §3.5.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use telox_sip_core::auth::{Credentials, DigestAlgorithm, DigestInput, response};

const VECTORS: &str = include_str!("data/digest-vectors.tsv");

#[test]
fn rfc_digest_examples() {
    let mut checked = 0;
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 12, "{line}");
        let algorithm = DigestAlgorithm::from_token(f[1]).unwrap();
        assert_eq!(f[10], "auth");
        let input = DigestInput {
            algorithm,
            realm: f[3],
            nonce: f[7],
            method: f[5],
            uri: f[6],
            // nc as the vector writes it: the hash covers the string.
            qop_auth: Some((f[8], f[9])),
        };
        assert_eq!(response(&input, f[2], f[4]), f[11], "{}", f[0]);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn rfc7616_authorization_header_parses() {
    // The SHA-256 Authorization header of RFC 7616 §3.9.1 (folded onto one line).
    let v = concat!(
        r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", "#,
        r#"algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, "#,
        r#"cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, "#,
        r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "#,
        r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
    );
    let c = Credentials::parse(v).unwrap();
    assert_eq!(c.algorithm, Some(DigestAlgorithm::Sha256));
    let nc = c.nc.as_ref().unwrap();
    assert_eq!((nc.value(), nc.as_str()), (1, "00000001"));
    assert_eq!(
        c.opaque.as_deref(),
        Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    );
    let input = DigestInput {
        algorithm: DigestAlgorithm::Sha256,
        realm: &c.realm,
        nonce: &c.nonce,
        method: "GET",
        uri: &c.uri,
        qop_auth: Some((nc.as_str(), c.cnonce.as_deref().unwrap())),
    };
    assert_eq!(response(&input, &c.username, "Circle of Life"), c.response);
}
