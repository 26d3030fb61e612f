//! Digest access authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! Works on header *values* as strings, so it composes with any message layer:
//! - [`Challenge`] is a `WWW-Authenticate` / `Proxy-Authenticate` value (401 / 407),
//! - [`Credentials`] is an `Authorization` / `Proxy-Authorization` value,
//! - [`DigestClient`] answers challenges (nonce-count, cnonce, algorithm choice),
//! - [`DigestServer`] issues nonces that expire and cannot be replayed, and verifies
//!   credentials against a [`DigestSecret`].
//!
//! Supported: algorithms MD5, MD5-sess, SHA-256, SHA-256-sess; `qop=auth` and the RFC 2069
//! form without qop. `auth-int` is recognised but not offered or answered (its body hash is
//! rarely implemented by SIP peers), which RFC 7616 permits.

mod params;
mod server;

use std::fmt;

use md5::Md5;
use rand::RngCore;
use sha2::Sha256;

pub use server::{AuthRejection, DigestSecret, DigestServer, DigestServerConfig, Verdict};

/// A digest hash algorithm (RFC 7616 §3.3, RFC 8760 §2).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum DigestAlgorithm {
    /// `MD5`, the RFC 3261 default when no algorithm is named.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760 asks SIP servers to offer it first).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The token as written in `algorithm=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses the `algorithm=` token case-insensitively; `None` for unknown algorithms.
    pub fn from_token(token: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// True for the `-sess` variants, whose HA1 includes nonce and cnonce.
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Preference order when a server offers several challenges: stronger first.
    fn strength(self) -> u8 {
        match self {
            Self::Sha256 | Self::Sha256Sess => 2,
            Self::Md5 | Self::Md5Sess => 1,
        }
    }

    /// Lowercase hex of the hash of the colon-joined parts.
    pub fn hash_hex(self, parts: &[&str]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hash_joined::<Md5>(parts),
            Self::Sha256 | Self::Sha256Sess => hash_joined::<Sha256>(parts),
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which header carried a challenge; decides the header of the answer (RFC 3261 §22.2, §22.3).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ChallengeKind {
    /// 401 with `WWW-Authenticate`, answered with `Authorization`.
    Www,
    /// 407 with `Proxy-Authenticate`, answered with `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    /// The challenge header name.
    pub fn challenge_header(self) -> &'static str {
        match self {
            Self::Www => "WWW-Authenticate",
            Self::Proxy => "Proxy-Authenticate",
        }
    }

    /// The header name of the answer.
    pub fn credentials_header(self) -> &'static str {
        match self {
            Self::Www => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }

    /// The status code that carries this kind of challenge.
    pub fn status(self) -> u16 {
        match self {
            Self::Www => 401,
            Self::Proxy => 407,
        }
    }
}

/// A parsed `Digest` challenge (RFC 7616 §3.3).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Challenge {
    /// Protection space shown to the user.
    pub realm: String,
    /// Server nonce, echoed in the credentials.
    pub nonce: String,
    /// Opaque server data, echoed unchanged.
    pub opaque: Option<String>,
    /// Hash algorithm; `None` means MD5 (RFC 3261 §22.4).
    pub algorithm: Option<DigestAlgorithm>,
    /// The raw algorithm token when it is not one we support (so the caller can skip it).
    pub unknown_algorithm: Option<String>,
    /// Offered qop values (`auth`, `auth-int`); empty for the RFC 2069 form.
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired but the credentials were right; retry silently.
    pub stale: bool,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` / `Proxy-Authenticate` value.
    ///
    /// # Errors
    /// [`AuthError::BadScheme`] for a scheme other than `Digest`, [`AuthError::MissingParam`]
    /// without `realm` or `nonce`, and the grammar errors of the parameter list.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let (scheme, params) = params::parse_scheme_params(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::BadScheme);
        }
        let mut realm = None;
        let mut nonce = None;
        let mut out = Self {
            realm: String::new(),
            nonce: String::new(),
            opaque: None,
            algorithm: None,
            unknown_algorithm: None,
            qop: Vec::new(),
            stale: false,
        };
        for (name, value) in params {
            match name.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "opaque" => out.opaque = Some(value),
                "algorithm" => match DigestAlgorithm::from_token(&value) {
                    Some(a) => out.algorithm = Some(a),
                    None => out.unknown_algorithm = Some(value),
                },
                "qop" => {
                    out.qop = value
                        .split(',')
                        .map(|q| q.trim().to_ascii_lowercase())
                        .filter(|q| !q.is_empty())
                        .collect();
                }
                "stale" => out.stale = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        out.realm = realm.ok_or(AuthError::MissingParam("realm"))?;
        out.nonce = nonce.ok_or(AuthError::MissingParam("nonce"))?;
        Ok(out)
    }

    /// The algorithm in effect (MD5 when absent).
    pub fn effective_algorithm(&self) -> DigestAlgorithm {
        self.algorithm.unwrap_or(DigestAlgorithm::Md5)
    }

    /// True when we can answer this challenge (known algorithm, `auth` or no qop).
    pub fn is_supported(&self) -> bool {
        self.unknown_algorithm.is_none()
            && (self.qop.is_empty() || self.qop.iter().any(|q| q == "auth"))
    }

    /// Picks the challenge to answer among several (RFC 8760 §2.4: use the first supported
    /// one in the client's preference order, strongest algorithm first).
    pub fn select(challenges: &[Self]) -> Option<&Self> {
        challenges
            .iter()
            .filter(|c| c.is_supported())
            .max_by_key(|c| c.effective_algorithm().strength())
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("Digest ");
        params::push_quoted(&mut s, "realm", &self.realm);
        s.push_str(", ");
        params::push_quoted(&mut s, "nonce", &self.nonce);
        if let Some(opaque) = &self.opaque {
            s.push_str(", ");
            params::push_quoted(&mut s, "opaque", opaque);
        }
        if let Some(a) = self.algorithm {
            s.push_str(", algorithm=");
            s.push_str(a.as_str());
        }
        if !self.qop.is_empty() {
            s.push_str(", ");
            params::push_quoted(&mut s, "qop", &self.qop.join(","));
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        f.write_str(&s)
    }
}

/// Parsed `Digest` credentials (RFC 7616 §3.4).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Realm of the challenge answered.
    pub realm: String,
    /// Nonce of the challenge answered.
    pub nonce: String,
    /// The digest-uri (the Request-URI of the request, RFC 3261 §22.4).
    pub uri: String,
    /// Lowercase hex response.
    pub response: String,
    /// Algorithm; `None` means MD5.
    pub algorithm: Option<DigestAlgorithm>,
    /// Client nonce (with qop).
    pub cnonce: Option<String>,
    /// Opaque echoed from the challenge.
    pub opaque: Option<String>,
    /// `auth` when qop was used.
    pub qop: Option<String>,
    /// Nonce count (with qop), as the client wrote it.
    pub nc: Option<NonceCount>,
}

/// A nonce-count (RFC 7616 §3.4) as it was written, with its value.
///
/// RFC 7616 defines `nc-value = 8LHEX`, and that is what [`NonceCount::new`] (the client side)
/// writes. Clients that send fewer digits or uppercase hex exist
/// (<https://github.com/cloudwebrtc/go-sip-ua/issues/75>); the response hash is computed over
/// the string as sent, so a server verifying it must hash that string ([`as_str`]), while
/// replay checks compare the [`value`].
///
/// [`as_str`]: Self::as_str
/// [`value`]: Self::value
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NonceCount {
    text: String,
    value: u32,
}

impl NonceCount {
    /// The canonical form of `value`: 8 lowercase hex digits.
    pub fn new(value: u32) -> Self {
        Self {
            text: format!("{value:08x}"),
            value,
        }
    }

    /// Reads a received `nc` value: 1 to 8 hex digits, either case, kept as written.
    ///
    /// # Errors
    /// [`AuthError::BadNonceCount`] for anything else (empty, longer, a non-hex character).
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::BadNonceCount);
        }
        let value = u32::from_str_radix(text, 16).map_err(|_| AuthError::BadNonceCount)?;
        Ok(Self {
            text: text.to_owned(),
            value,
        })
    }

    /// The count.
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The count as written, the string the response hash covers.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Credentials {
    /// Parses an `Authorization` / `Proxy-Authorization` value.
    ///
    /// # Errors
    /// [`AuthError::BadScheme`], [`AuthError::MissingParam`] for a missing `username`,
    /// `realm`, `nonce`, `uri` or `response` (or `cnonce`/`nc` with qop),
    /// [`AuthError::BadNonceCount`], [`AuthError::UnknownAlgorithm`] and grammar errors.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let (scheme, params) = params::parse_scheme_params(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::BadScheme);
        }
        let (mut username, mut realm, mut nonce, mut uri, mut response) =
            (None, None, None, None, None);
        let (mut algorithm, mut cnonce, mut opaque, mut qop, mut nc) =
            (None, None, None, None, None);
        for (name, value) in params {
            match name.to_ascii_lowercase().as_str() {
                "username" => username = Some(value),
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "uri" => uri = Some(value),
                "response" => response = Some(value.to_ascii_lowercase()),
                "algorithm" => {
                    algorithm = Some(
                        DigestAlgorithm::from_token(&value).ok_or(AuthError::UnknownAlgorithm)?,
                    );
                }
                "cnonce" => cnonce = Some(value),
                "opaque" => opaque = Some(value),
                "qop" => qop = Some(value.to_ascii_lowercase()),
                "nc" => nc = Some(NonceCount::parse(&value)?),
                _ => {}
            }
        }
        if qop.is_some() {
            if cnonce.is_none() {
                return Err(AuthError::MissingParam("cnonce"));
            }
            if nc.is_none() {
                return Err(AuthError::MissingParam("nc"));
            }
        }
        Ok(Self {
            username: username.ok_or(AuthError::MissingParam("username"))?,
            realm: realm.ok_or(AuthError::MissingParam("realm"))?,
            nonce: nonce.ok_or(AuthError::MissingParam("nonce"))?,
            uri: uri.ok_or(AuthError::MissingParam("uri"))?,
            response: response.ok_or(AuthError::MissingParam("response"))?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("Digest ");
        params::push_quoted(&mut s, "username", &self.username);
        s.push_str(", ");
        params::push_quoted(&mut s, "realm", &self.realm);
        s.push_str(", ");
        params::push_quoted(&mut s, "nonce", &self.nonce);
        s.push_str(", ");
        params::push_quoted(&mut s, "uri", &self.uri);
        s.push_str(", ");
        params::push_quoted(&mut s, "response", &self.response);
        if let Some(a) = self.algorithm {
            s.push_str(", algorithm=");
            s.push_str(a.as_str());
        }
        if let Some(cnonce) = &self.cnonce {
            s.push_str(", ");
            params::push_quoted(&mut s, "cnonce", cnonce);
        }
        if let Some(opaque) = &self.opaque {
            s.push_str(", ");
            params::push_quoted(&mut s, "opaque", opaque);
        }
        if let Some(qop) = &self.qop {
            s.push_str(", qop=");
            s.push_str(qop);
        }
        if let Some(nc) = &self.nc {
            s.push_str(", nc=");
            s.push_str(nc.as_str());
        }
        f.write_str(&s)
    }
}

/// The inputs of one digest computation (RFC 7616 §3.4.1, §3.4.2).
#[derive(Clone, Copy, Debug)]
pub struct DigestInput<'a> {
    /// Hash algorithm.
    pub algorithm: DigestAlgorithm,
    /// Realm.
    pub realm: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// Request method (`REGISTER`, `INVITE`; `ACK` and `CANCEL` reuse the INVITE's values).
    pub method: &'a str,
    /// digest-uri.
    pub uri: &'a str,
    /// `Some((nc, cnonce))` with `qop=auth`, `nc` as written on the wire (the hash covers that
    /// string, see [`NonceCount`]); `None` for the RFC 2069 form.
    pub qop_auth: Option<(&'a str, &'a str)>,
}

/// HA1 = H(username:realm:password) (RFC 7616 §3.4.2), the value registrars store.
pub fn ha1(algorithm: DigestAlgorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&[username, realm, password])
}

/// The `response` value from a plain HA1 (H(username:realm:password)).
///
/// For the `-sess` algorithms the session HA1 is derived here from nonce and cnonce; without
/// a cnonce (no qop) the `-sess` form is undefined and the plain HA1 is used.
pub fn response_from_ha1(input: &DigestInput<'_>, ha1: &str) -> String {
    let alg = input.algorithm;
    let session_ha1;
    let ha1 = match (alg.is_session(), input.qop_auth) {
        (true, Some((_, cnonce))) => {
            session_ha1 = alg.hash_hex(&[ha1, input.nonce, cnonce]);
            session_ha1.as_str()
        }
        _ => ha1,
    };
    let ha2 = alg.hash_hex(&[input.method, input.uri]);
    match input.qop_auth {
        Some((nc, cnonce)) => alg.hash_hex(&[ha1, input.nonce, nc, cnonce, "auth", &ha2]),
        // RFC 2069 compatibility (RFC 3261 §22.4 still requires it).
        None => alg.hash_hex(&[ha1, input.nonce, &ha2]),
    }
}

/// The `response` value from username and password.
pub fn response(input: &DigestInput<'_>, username: &str, password: &str) -> String {
    response_from_ha1(
        input,
        &ha1(input.algorithm, username, input.realm, password),
    )
}

/// The client side: answers 401/407 challenges (RFC 3261 §22.2, §22.3).
///
/// Keeps the nonce-count per nonce so a reused nonce gets an increasing `nc`
/// (RFC 7616 §3.4), and draws cnonces from the RNG given at construction.
#[derive(Debug)]
pub struct DigestClient<R> {
    username: String,
    password: String,
    rng: R,
    last_nonce: String,
    nc: u32,
}

impl<R: RngCore> DigestClient<R> {
    /// A client for one identity; `rng` supplies cnonces (seed it for reproducible tests).
    pub fn new(username: impl Into<String>, password: impl Into<String>, rng: R) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            rng,
            last_nonce: String::new(),
            nc: 0,
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Credentials answering `challenge` for a request `method uri`.
    ///
    /// # Errors
    /// [`AuthError::Unsupported`] when the challenge's algorithm or qop cannot be answered.
    pub fn authorize(
        &mut self,
        challenge: &Challenge,
        method: &str,
        uri: &str,
    ) -> Result<Credentials, AuthError> {
        if !challenge.is_supported() {
            return Err(AuthError::Unsupported);
        }
        let algorithm = challenge.effective_algorithm();
        let use_qop = challenge.qop.iter().any(|q| q == "auth");
        let (cnonce, nc) = if use_qop {
            if self.last_nonce == challenge.nonce {
                self.nc = self.nc.wrapping_add(1);
            } else {
                self.last_nonce.clone_from(&challenge.nonce);
                self.nc = 1;
            }
            let mut raw = [0u8; 12];
            self.rng.fill_bytes(&mut raw);
            (Some(hex(&raw)), Some(NonceCount::new(self.nc)))
        } else {
            (None, None)
        };
        let input = DigestInput {
            algorithm,
            realm: &challenge.realm,
            nonce: &challenge.nonce,
            method,
            uri,
            qop_auth: nc.as_ref().map(NonceCount::as_str).zip(cnonce.as_deref()),
        };
        Ok(Credentials {
            username: self.username.clone(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response: response(&input, &self.username, &self.password),
            algorithm: challenge.algorithm,
            cnonce,
            opaque: challenge.opaque.clone(),
            qop: use_qop.then(|| "auth".to_owned()),
            nc,
        })
    }
}

/// Errors of the digest layer (hostile header values and unsupported challenges).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The scheme is missing or is not `Digest`.
    #[error("authentication scheme is not digest")]
    BadScheme,
    /// A parameter is malformed at this byte offset of the value.
    #[error("malformed auth parameter at byte {at}")]
    BadParam {
        /// Byte offset in the header value.
        at: usize,
    },
    /// A quoted string is not closed.
    #[error("unterminated quoted string in auth header")]
    UnterminatedQuote,
    /// More parameters than we accept.
    #[error("more than {limit} auth parameters")]
    TooManyParams {
        /// The limit.
        limit: usize,
    },
    /// A required parameter is absent.
    #[error("missing auth parameter {0}")]
    MissingParam(&'static str),
    /// `nc` is not 1 to 8 hex digits.
    #[error("nonce count is not 1 to 8 hex digits")]
    BadNonceCount,
    /// Credentials name an algorithm we do not know.
    #[error("unknown digest algorithm")]
    UnknownAlgorithm,
    /// The challenge asks for an algorithm or qop we cannot answer.
    #[error("unsupported digest challenge")]
    Unsupported,
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn hash_joined<D: md5::Digest>(parts: &[&str]) -> String {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn challenge_round_trip() {
        let c = Challenge::parse(
            r#"Digest realm="atlanta.com", nonce="abc", opaque="xyz", algorithm=SHA-256, qop="auth,auth-int", stale=TRUE"#,
        )
        .unwrap();
        assert_eq!(c.algorithm, Some(DigestAlgorithm::Sha256));
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        assert!(c.stale);
        assert_eq!(Challenge::parse(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn select_prefers_sha256_and_skips_unknown() {
        let md5 = Challenge::parse(r#"Digest realm="r", nonce="1", qop="auth""#).unwrap();
        let sha = Challenge::parse(r#"Digest realm="r", nonce="2", algorithm=SHA-256"#).unwrap();
        let unk =
            Challenge::parse(r#"Digest realm="r", nonce="3", algorithm=SHA-512-256"#).unwrap();
        let int_only = Challenge::parse(r#"Digest realm="r", nonce="4", qop="auth-int""#).unwrap();
        let all = [md5.clone(), unk.clone(), sha.clone(), int_only.clone()];
        assert_eq!(Challenge::select(&all), Some(&sha));
        assert_eq!(Challenge::select(&[unk, md5.clone()]), Some(&md5));
        assert_eq!(Challenge::select(&[int_only]), None);
    }

    #[test]
    fn client_counts_nonce_uses() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
        let mut client = DigestClient::new("alice", "pw", ChaCha8Rng::seed_from_u64(1));
        let a = client.authorize(&c, "REGISTER", "sip:r").unwrap();
        let b = client.authorize(&c, "REGISTER", "sip:r").unwrap();
        let count = |c: &Credentials| c.nc.as_ref().map(|n| (n.value(), n.as_str().to_owned()));
        assert_eq!(count(&a), Some((1, "00000001".to_owned())));
        assert_eq!(count(&b), Some((2, "00000002".to_owned())));
        assert_ne!(a.cnonce, b.cnonce);
        let parsed = Credentials::parse(&b.to_string()).unwrap();
        assert_eq!(parsed, b);
    }

    #[test]
    fn credentials_with_qop_need_cnonce_and_nc() {
        let v = r#"Digest username="a", realm="r", nonce="n", uri="sip:x", response="00", qop=auth, nc=00000001"#;
        assert_eq!(
            Credentials::parse(v),
            Err(AuthError::MissingParam("cnonce"))
        );
        let with_nc = |nc: &str| {
            Credentials::parse(&format!(
                r#"Digest username="a", realm="r", nonce="n", uri="sip:x", response="00", qop=auth, cnonce="c", nc={nc}"#
            ))
            .map(|c| c.nc.map(|n| (n.value(), n.as_str().to_owned())))
        };
        // Fewer digits and uppercase are read as written (go-sip-ua #75).
        for (nc, value) in [
            ("00000001", 1),
            ("1", 1),
            ("000000A", 10),
            ("FFFFFFFF", u32::MAX),
        ] {
            assert_eq!(with_nc(nc), Ok(Some((value, nc.to_owned()))), "{nc}");
        }
        for nc in ["000000001", "0000000g", "+1", "-1", "0x1"] {
            assert_eq!(with_nc(nc), Err(AuthError::BadNonceCount), "{nc:?}");
        }
    }
}
