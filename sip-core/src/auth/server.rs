//! The server side of digest authentication: nonce issuing and credential verification.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::Sha256;

use super::{Challenge, Credentials, DigestAlgorithm, DigestInput, hex, response_from_ha1};

/// What the server knows about a user's password.
#[derive(Clone, Debug)]
pub enum DigestSecret {
    /// The clear-text password.
    Password(String),
    /// HA1 = H(username:realm:password) per algorithm (what a registrar database stores);
    /// credentials using an algorithm without an HA1 here are rejected.
    Ha1 {
        /// HA1 for MD5 and MD5-sess.
        md5: Option<String>,
        /// HA1 for SHA-256 and SHA-256-sess.
        sha256: Option<String>,
    },
}

/// Configuration of a [`DigestServer`].
#[derive(Clone, Debug)]
pub struct DigestServerConfig {
    /// The realm challenged.
    pub realm: String,
    /// Algorithms offered, one challenge each, in order (RFC 8760 §2.4: SHA-256 first).
    pub algorithms: Vec<DigestAlgorithm>,
    /// How long an issued nonce is accepted; after that the answer is `stale=true`.
    pub nonce_lifetime: Duration,
    /// Most nonces whose use is tracked at once (bounds memory; see [`DigestServer`]).
    pub max_tracked_nonces: usize,
    /// Seed for the RNG that keys the nonce HMAC and salts nonces.
    pub seed: u64,
}

impl DigestServerConfig {
    /// SHA-256 then MD5, 5 minute nonces, 65,536 tracked nonces.
    pub fn new(realm: impl Into<String>, seed: u64) -> Self {
        Self {
            realm: realm.into(),
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            nonce_lifetime: Duration::from_secs(300),
            max_tracked_nonces: 65_536,
            seed,
        }
    }
}

/// The outcome of [`DigestServer::verify`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Verdict {
    /// The credentials are valid and fresh.
    Authorized,
    /// The response is right but the nonce expired: challenge again with `stale=true`
    /// (RFC 7616 §3.3) so the client retries without asking its user.
    Stale,
    /// Reject and challenge again (401/407 without `stale`).
    Rejected(AuthRejection),
}

/// Why credentials were rejected.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The realm is not ours.
    WrongRealm,
    /// The nonce was not issued by this server (bad MAC or shape).
    UnknownNonce,
    /// The algorithm was not offered, or no HA1 is stored for it.
    AlgorithmNotOffered,
    /// The qop is not `auth`.
    UnsupportedQop,
    /// The response does not match: wrong password or tampered request.
    WrongResponse,
    /// The nonce-count did not increase, or a qop-less nonce was used twice.
    Replay,
}

/// Issues nonces and verifies credentials (RFC 3261 §22.1, RFC 7616 §3.3, §5.4).
///
/// A nonce is `hex(issued-ms) hex(salt) hex(HMAC-SHA-256(key, issued-ms || salt)[..16])`, so
/// the server recognises its own nonces and their age without storing them. Replay
/// protection keeps, for each nonce already used, the highest nonce-count seen; a nonce
/// used without qop is accepted once. Memory is bounded by `max_tracked_nonces`: when the
/// table is full, expired entries are dropped first, then the oldest entry, and every nonce
/// issued up to the evicted one becomes stale, so eviction can never re-open a replay.
#[derive(Debug)]
pub struct DigestServer {
    config: DigestServerConfig,
    key: [u8; 32],
    rng: ChaCha20Rng,
    epoch: Option<Instant>,
    used: HashMap<String, UsedNonce>,
    /// Nonces issued at or before this many ms after `epoch` are treated as stale.
    floor_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct UsedNonce {
    issued_ms: u64,
    /// Highest nc seen; `None` when used without qop (single use).
    last_nc: Option<u32>,
}

impl DigestServer {
    /// A server with the given configuration.
    pub fn new(config: DigestServerConfig) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(config.seed);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self {
            config,
            key,
            rng,
            epoch: None,
            used: HashMap::new(),
            floor_ms: None,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// Number of nonces whose use is being tracked (bounded by the config).
    pub fn tracked_nonces(&self) -> usize {
        self.used.len()
    }

    /// Fresh challenges, one per configured algorithm, all with `qop="auth"`; `stale` marks
    /// them as the answer to an expired nonce.
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<Challenge> {
        let nonce = self.issue_nonce(now);
        self.config
            .algorithms
            .iter()
            .map(|&a| Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                opaque: None,
                algorithm: Some(a),
                unknown_algorithm: None,
                qop: vec!["auth".to_owned()],
                stale,
            })
            .collect()
    }

    /// Checks credentials sent with a request `method` (the Request-URI is the client's
    /// `uri` parameter, which the caller may compare with the request line).
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        credentials: &Credentials,
        secret: &DigestSecret,
    ) -> Verdict {
        if credentials.realm != self.config.realm {
            return Verdict::Rejected(AuthRejection::WrongRealm);
        }
        let algorithm = credentials.algorithm.unwrap_or(DigestAlgorithm::Md5);
        if !self.config.algorithms.contains(&algorithm) {
            return Verdict::Rejected(AuthRejection::AlgorithmNotOffered);
        }
        let Some(issued_ms) = self.check_nonce(&credentials.nonce) else {
            return Verdict::Rejected(AuthRejection::UnknownNonce);
        };
        let qop_auth = match (&credentials.qop, &credentials.nc, &credentials.cnonce) {
            (None, _, _) => None,
            (Some(q), Some(nc), Some(cnonce)) if q == "auth" => Some((nc, cnonce.as_str())),
            _ => return Verdict::Rejected(AuthRejection::UnsupportedQop),
        };
        let ha1 = match secret {
            DigestSecret::Password(pw) => {
                super::ha1(algorithm, &credentials.username, &self.config.realm, pw)
            }
            DigestSecret::Ha1 { md5, sha256 } => {
                let stored = match algorithm {
                    DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => md5,
                    DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => sha256,
                };
                match stored {
                    Some(h) => h.to_ascii_lowercase(),
                    None => return Verdict::Rejected(AuthRejection::AlgorithmNotOffered),
                }
            }
        };
        let expected = response_from_ha1(
            &DigestInput {
                algorithm,
                realm: &self.config.realm,
                nonce: &credentials.nonce,
                method,
                uri: &credentials.uri,
                // The hash covers nc as the client wrote it; replay checks use its value.
                qop_auth: qop_auth.map(|(nc, cnonce)| (nc.as_str(), cnonce)),
            },
            &ha1,
        );
        if !constant_time_eq(expected.as_bytes(), credentials.response.as_bytes()) {
            return Verdict::Rejected(AuthRejection::WrongResponse);
        }
        // Only a correct response may learn that its nonce is stale (RFC 7616 §3.3).
        let now_ms = self.ms_since_epoch(now);
        let lifetime_ms = u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX);
        let expired = now_ms.saturating_sub(issued_ms) > lifetime_ms
            || self.floor_ms.is_some_and(|f| issued_ms <= f);
        if expired {
            self.used.remove(&credentials.nonce);
            return Verdict::Stale;
        }
        match self.used.get_mut(&credentials.nonce) {
            Some(entry) => match (entry.last_nc, qop_auth) {
                (Some(last), Some((nc, _))) if nc.value() > last => {
                    entry.last_nc = Some(nc.value());
                }
                _ => return Verdict::Rejected(AuthRejection::Replay),
            },
            None => {
                self.make_room(now_ms, lifetime_ms);
                self.used.insert(
                    credentials.nonce.clone(),
                    UsedNonce {
                        issued_ms,
                        last_nc: qop_auth.map(|(nc, _)| nc.value()),
                    },
                );
            }
        }
        Verdict::Authorized
    }

    fn issue_nonce(&mut self, now: Instant) -> String {
        let issued_ms = self.ms_since_epoch(now);
        let mut salt = [0u8; 8];
        self.rng.fill_bytes(&mut salt);
        let mut nonce = hex(&issued_ms.to_be_bytes());
        nonce.push_str(&hex(&salt));
        nonce.push_str(&hex(&self.mac(issued_ms, &salt)));
        nonce
    }

    /// The issue time of a nonce we made, or `None`.
    fn check_nonce(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != 64 || !nonce.is_ascii() {
            return None;
        }
        let issued = unhex::<8>(&nonce[..16])?;
        let salt = unhex::<8>(&nonce[16..32])?;
        let mac = unhex::<16>(&nonce[32..])?;
        let issued_ms = u64::from_be_bytes(issued);
        constant_time_eq(&self.mac(issued_ms, &salt), &mac).then_some(issued_ms)
    }

    fn mac(&self, issued_ms: u64, salt: &[u8; 8]) -> [u8; 16] {
        let mut out = [0u8; 16];
        // HMAC accepts keys of any length, so this cannot fail; a failure would leave an
        // all-zero MAC that no issued nonce carries.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) {
            mac.update(&issued_ms.to_be_bytes());
            mac.update(salt);
            let full = mac.finalize().into_bytes();
            for (o, b) in out.iter_mut().zip(full.iter()) {
                *o = *b;
            }
        }
        out
    }

    fn ms_since_epoch(&mut self, now: Instant) -> u64 {
        let epoch = *self.epoch.get_or_insert(now);
        u64::try_from(now.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn make_room(&mut self, now_ms: u64, lifetime_ms: u64) {
        if self.used.len() < self.config.max_tracked_nonces.max(1) {
            return;
        }
        self.used
            .retain(|_, u| now_ms.saturating_sub(u.issued_ms) <= lifetime_ms);
        while self.used.len() >= self.config.max_tracked_nonces.max(1) {
            let Some((oldest, issued)) = self
                .used
                .iter()
                .min_by_key(|(_, u)| u.issued_ms)
                .map(|(k, u)| (k.clone(), u.issued_ms))
            else {
                break;
            };
            self.used.remove(&oldest);
            self.floor_ms = Some(self.floor_ms.map_or(issued, |f| f.max(issued)));
        }
    }
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha8Rng;

    use super::super::{DigestClient, NonceCount};
    use super::*;

    #[expect(
        clippy::disallowed_methods,
        reason = "tests need an origin; only differences matter"
    )]
    fn origin() -> Instant {
        Instant::now()
    }

    fn server() -> DigestServer {
        let mut c = DigestServerConfig::new("example.com", 7);
        c.nonce_lifetime = Duration::from_secs(30);
        c.max_tracked_nonces = 4;
        DigestServer::new(c)
    }

    fn pw() -> DigestSecret {
        DigestSecret::Password("secret".into())
    }

    #[test]
    fn full_exchange_then_replay_rejected() {
        let t0 = origin();
        let mut s = server();
        let ch = s.challenge(t0, false);
        assert_eq!(ch[0].algorithm, Some(DigestAlgorithm::Sha256));
        let mut c = DigestClient::new("bob", "secret", ChaCha8Rng::seed_from_u64(3));
        let cred = c.authorize(&ch[0], "REGISTER", "sip:example.com").unwrap();
        assert_eq!(s.verify(t0, "REGISTER", &cred, &pw()), Verdict::Authorized);
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &pw()),
            Verdict::Rejected(AuthRejection::Replay)
        );
        let next = c.authorize(&ch[0], "REGISTER", "sip:example.com").unwrap();
        assert_eq!(s.verify(t0, "REGISTER", &next, &pw()), Verdict::Authorized);
    }

    #[test]
    fn wrong_password_method_and_forged_nonce() {
        let t0 = origin();
        let mut s = server();
        let ch = s.challenge(t0, false);
        let mut c = DigestClient::new("bob", "wrong", ChaCha8Rng::seed_from_u64(3));
        let cred = c.authorize(&ch[1], "REGISTER", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &pw()),
            Verdict::Rejected(AuthRejection::WrongResponse)
        );
        let mut c = DigestClient::new("bob", "secret", ChaCha8Rng::seed_from_u64(3));
        let cred = c.authorize(&ch[1], "INVITE", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &pw()),
            Verdict::Rejected(AuthRejection::WrongResponse)
        );
        let mut forged = ch[1].clone();
        forged.nonce.replace_range(0..1, "f");
        let cred = c.authorize(&forged, "REGISTER", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &pw()),
            Verdict::Rejected(AuthRejection::UnknownNonce)
        );
        // A nonce from another server instance (other key) is unknown as well.
        let mut other = DigestServer::new(DigestServerConfig::new("example.com", 8));
        let foreign = other.challenge(t0, false);
        let cred = c
            .authorize(&foreign[0], "REGISTER", "sip:example.com")
            .unwrap();
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &pw()),
            Verdict::Rejected(AuthRejection::UnknownNonce)
        );
    }

    #[test]
    fn nonce_expires_to_stale() {
        let t0 = origin();
        let mut s = server();
        let ch = s.challenge(t0, false);
        let mut c = DigestClient::new("bob", "secret", ChaCha8Rng::seed_from_u64(3));
        let cred = c.authorize(&ch[0], "REGISTER", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0 + Duration::from_secs(30), "REGISTER", &cred, &pw()),
            Verdict::Authorized
        );
        let cred = c.authorize(&ch[0], "REGISTER", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0 + Duration::from_millis(30_001), "REGISTER", &cred, &pw()),
            Verdict::Stale
        );
        let fresh = s.challenge(t0 + Duration::from_secs(31), true);
        assert!(fresh[0].stale);
        assert!(fresh[0].to_string().contains("stale=true"));
    }

    #[test]
    fn nonce_count_is_hashed_as_sent_and_replay_checked_by_value() {
        // A client writing nc in 7 digits or uppercase (go-sip-ua #75): its response hash
        // covers that string, which the server must hash as received.
        let t0 = origin();
        let mut s = server();
        let ch = s.challenge(t0, false)[1].clone(); // MD5, qop=auth
        let answer = |nc: &str, cnonce: &str| {
            let input = DigestInput {
                algorithm: DigestAlgorithm::Md5,
                realm: "example.com",
                nonce: &ch.nonce,
                method: "REGISTER",
                uri: "sip:example.com",
                qop_auth: Some((nc, cnonce)),
            };
            let response = super::super::response(&input, "bob", "secret");
            Credentials::parse(&format!(
                r#"Digest username="bob", realm="example.com", nonce="{}", uri="sip:example.com", response="{response}", qop=auth, cnonce="{cnonce}", nc={nc}"#,
                ch.nonce
            ))
            .unwrap()
        };
        let first = answer("0000001", "c1");
        assert_eq!(first.to_string().matches("nc=0000001").count(), 1);
        assert_eq!(s.verify(t0, "REGISTER", &first, &pw()), Verdict::Authorized);
        // The same count in the canonical form is the same count: a replay.
        assert_eq!(
            s.verify(t0, "REGISTER", &answer("00000001", "c2"), &pw()),
            Verdict::Rejected(AuthRejection::Replay)
        );
        assert_eq!(
            s.verify(t0, "REGISTER", &answer("0000000A", "c3"), &pw()),
            Verdict::Authorized
        );
        assert_eq!(
            s.verify(t0, "REGISTER", &answer("a", "c4"), &pw()),
            Verdict::Rejected(AuthRejection::Replay)
        );
        // A response computed over another spelling of the count is wrong.
        let mut wrong = answer("0000000b", "c5");
        wrong.nc = Some(NonceCount::parse("0000000B").unwrap());
        assert_eq!(
            s.verify(t0, "REGISTER", &wrong, &pw()),
            Verdict::Rejected(AuthRejection::WrongResponse)
        );
    }

    #[test]
    fn ha1_secret_and_qopless_single_use() {
        let t0 = origin();
        let mut s = server();
        let mut ch = s.challenge(t0, false)[1].clone();
        ch.qop.clear();
        let secret = DigestSecret::Ha1 {
            md5: Some(super::super::ha1(
                DigestAlgorithm::Md5,
                "bob",
                "example.com",
                "secret",
            )),
            sha256: None,
        };
        let mut c = DigestClient::new("bob", "secret", ChaCha8Rng::seed_from_u64(3));
        let cred = c.authorize(&ch, "REGISTER", "sip:example.com").unwrap();
        assert_eq!(cred.nc, None);
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &secret),
            Verdict::Authorized
        );
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &secret),
            Verdict::Rejected(AuthRejection::Replay)
        );
        let sha = s.challenge(t0, false)[0].clone();
        let cred = c.authorize(&sha, "REGISTER", "sip:example.com").unwrap();
        assert_eq!(
            s.verify(t0, "REGISTER", &cred, &secret),
            Verdict::Rejected(AuthRejection::AlgorithmNotOffered)
        );
    }

    #[test]
    fn tracking_is_bounded_and_eviction_makes_old_nonces_stale() {
        let t0 = origin();
        let mut s = server();
        let mut c = DigestClient::new("bob", "secret", ChaCha8Rng::seed_from_u64(3));
        let mut creds = Vec::new();
        for i in 0..10u64 {
            let now = t0 + Duration::from_millis(i);
            let ch = s.challenge(now, false);
            let cred = c.authorize(&ch[0], "REGISTER", "sip:example.com").unwrap();
            assert_eq!(s.verify(now, "REGISTER", &cred, &pw()), Verdict::Authorized);
            creds.push(cred);
            assert!(s.tracked_nonces() <= 4);
        }
        // The first nonce was evicted: replaying it must not be accepted as a first use.
        assert_eq!(s.verify(t0, "REGISTER", &creds[0], &pw()), Verdict::Stale);
    }
}
