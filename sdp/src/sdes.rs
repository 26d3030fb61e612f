//! SDES (RFC 4568): `a=crypto` lines, SRTP crypto suites and key generation.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::attr::{split_byte, split_on, unsigned};
use crate::error::AttributeError;
use crate::model::Attribute;

/// Base64 as RFC 4568 §6.1 uses it: padding written, accepted with or without on input.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The SRTP crypto suites telox negotiates, weakest first (so `Ord` ranks strength).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_32` (RFC 4568 §6.2.2).
    AesCm128HmacSha1_32,
    /// `AES_CM_128_HMAC_SHA1_80` (RFC 4568 §6.2.1).
    AesCm128HmacSha1_80,
    /// `AES_256_CM_HMAC_SHA1_32` (RFC 6188 §7.1).
    Aes256CmHmacSha1_32,
    /// `AES_256_CM_HMAC_SHA1_80` (RFC 6188 §7.1).
    Aes256CmHmacSha1_80,
    /// `AEAD_AES_128_GCM` (RFC 7714 §14.2).
    AeadAes128Gcm,
    /// `AEAD_AES_256_GCM` (RFC 7714 §14.2).
    AeadAes256Gcm,
}

impl SrtpSuite {
    /// Every suite, strongest first (the default offer order).
    pub const ALL: [Self; 6] = [
        Self::AeadAes256Gcm,
        Self::AeadAes128Gcm,
        Self::Aes256CmHmacSha1_80,
        Self::Aes256CmHmacSha1_32,
        Self::AesCm128HmacSha1_80,
        Self::AesCm128HmacSha1_32,
    ];

    /// The RFC 4568 name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::Aes256CmHmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
            Self::Aes256CmHmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Parses an RFC 4568 suite name. The names are ABNF quoted strings (RFC 4568 §9.2),
    /// which RFC 5234 §2.3 makes case-insensitive: `aes_cm_128_hmac_sha1_80` is the same
    /// suite (PJSIP's SRTP test offers write it so, pjproject#1347). No two suite names
    /// differ only by case, so one case-insensitive search finds the one suite meant.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// Master key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_32 | Self::AesCm128HmacSha1_80 | Self::AeadAes128Gcm => 16,
            _ => 32,
        }
    }

    /// Master salt length in bytes (112 bits for AES-CM, 96 for GCM, RFC 7714 §12).
    pub const fn salt_len(self) -> usize {
        match self {
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 12,
            _ => 14,
        }
    }

    /// Length of the inline key||salt in bytes.
    pub const fn key_salt_len(self) -> usize {
        self.key_len() + self.salt_len()
    }
}

/// One `inline:` key parameter (RFC 4568 §6.1): master key and salt, lifetime and MKI.
#[derive(Clone, Eq, PartialEq)]
pub struct KeyParam {
    /// Master key followed by master salt, decoded.
    pub key_salt: Vec<u8>,
    /// `|2^n` or `|n`: packets protected with this key.
    pub lifetime: Option<KeyLifetime>,
    /// `|value:length`.
    pub mki: Option<Mki>,
}

impl std::fmt::Debug for KeyParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach logs.
        f.debug_struct("KeyParam")
            .field("key_salt", &format_args!("<{} bytes>", self.key_salt.len()))
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

impl KeyParam {
    /// The master key (the first `suite.key_len()` bytes), `None` if too short.
    pub fn master_key(&self, suite: SrtpSuite) -> Option<&[u8]> {
        self.key_salt.get(..suite.key_len())
    }

    /// The master salt, `None` if too short.
    pub fn master_salt(&self, suite: SrtpSuite) -> Option<&[u8]> {
        self.key_salt.get(suite.key_len()..suite.key_salt_len())
    }
}

/// An SRTP master key lifetime.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum KeyLifetime {
    /// `2^n`.
    PowerOfTwo(u8),
    /// A packet count.
    Packets(u64),
}

impl KeyLifetime {
    /// The number of packets, saturating at `u64::MAX`.
    pub fn packets(self) -> u64 {
        match self {
            Self::PowerOfTwo(n) => 1u64.checked_shl(u32::from(n)).unwrap_or(u64::MAX),
            Self::Packets(n) => n,
        }
    }
}

/// A master key identifier: value and its length in bytes on the wire (RFC 4568 §6.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Mki {
    /// MKI value.
    pub value: u64,
    /// Length in bytes, 1..=128.
    pub length: u8,
}

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Crypto {
    /// Tag, 1..=9 decimal digits.
    pub tag: u32,
    /// Suite name verbatim (see [`Crypto::suite`]).
    pub suite_name: String,
    /// Key parameters (at least one).
    pub keys: Vec<KeyParam>,
    /// Session parameters verbatim (`UNENCRYPTED_SRTCP`, `KDR=`...), space separated.
    pub session_params: Vec<String>,
}

impl Crypto {
    /// A crypto line with one fresh key for `suite`, drawn from `rng`.
    pub fn generate<R: rand::CryptoRng + ?Sized>(tag: u32, suite: SrtpSuite, rng: &mut R) -> Self {
        let mut key_salt = vec![0u8; suite.key_salt_len()];
        rng.fill_bytes(&mut key_salt);
        Self {
            tag,
            suite_name: suite.as_str().to_owned(),
            keys: vec![KeyParam {
                key_salt,
                lifetime: None,
                mki: None,
            }],
            session_params: Vec::new(),
        }
    }

    /// The suite, when telox knows it.
    pub fn suite(&self) -> Option<SrtpSuite> {
        SrtpSuite::from_name(&self.suite_name)
    }

    /// The first key, when its length fits the suite (RFC 4568 §6.1 requires it).
    pub fn usable_key(&self) -> Option<&KeyParam> {
        let suite = self.suite()?;
        self.keys
            .first()
            .filter(|k| k.key_salt.len() == suite.key_salt_len())
    }

    /// Parses the value of an `a=crypto`.
    ///
    /// # Errors
    /// An [`AttributeError`] naming the bad field.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let mut keys = Vec::new();
        crypto_fields(value, true, |b64, len, lifetime, mki| {
            keys.push(KeyParam {
                key_salt: decode_key(b64, len),
                lifetime,
                mki,
            });
        })?;
        // crypto_fields checked the tag, suite and key-params fields.
        let mut it = value.split(' ');
        let tag = it.next().and_then(|t| t.parse().ok()).unwrap_or_default();
        let suite_name = it.next().unwrap_or_default().to_owned();
        let _key_params = it.next();
        let session_params = it.filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Ok(Self {
            tag,
            suite_name,
            keys,
            session_params,
        })
    }

    /// The attribute (`a=crypto:...`).
    pub fn to_attribute(&self) -> Attribute {
        let mut v = String::new();
        self.write_value(&mut v);
        crate::attr::text_attr("crypto", v)
    }

    /// Appends the attribute value to `out`.
    pub(crate) fn write_value(&self, out: &mut String) {
        let _ = write!(out, "{} {} ", self.tag, self.suite_name);
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str("inline:");
            B64.encode_string(&k.key_salt, out);
            match k.lifetime {
                Some(KeyLifetime::PowerOfTwo(n)) => {
                    let _ = write!(out, "|2^{n}");
                }
                Some(KeyLifetime::Packets(n)) => {
                    let _ = write!(out, "|{n}");
                }
                None => {}
            }
            if let Some(m) = k.mki {
                let _ = write!(out, "|{}:{}", m.value, m.length);
            }
        }
        for p in &self.session_params {
            out.push(' ');
            out.push_str(p);
        }
    }
}

/// Tag, suite and whether the first key's length fits the suite, of an `a=crypto` value,
/// without allocating (for choosing among offered lines); `None` when malformed.
pub(crate) fn crypto_choice(value: &str) -> Option<(u32, Option<SrtpSuite>, bool)> {
    let mut first_len = None;
    crypto_fields(value, true, |_, len, _, _| {
        first_len.get_or_insert(len);
    })
    .ok()?;
    let mut it = split_on(value, b' ');
    let tag = crate::attr::decimal(it.next()?)?;
    let suite = SrtpSuite::from_name(it.next()?);
    let _key_params = it.next();
    let usable = suite.is_some_and(|s| first_len == Some(s.key_salt_len()))
        && it.all(|p| p.is_empty() || is_harmless_session_param(p));
    Some((tag, suite, usable))
}

/// Whether an SDES session parameter (RFC 4568 §6.3) leaves the SRTP of the line as telox
/// runs it: the defaults written out (`KDR=0`, `FEC_ORDER=FEC_SRTP`), the replay window
/// hint `WSH` (telox's window is at least the 64 it may ask for) and an optional extension
/// (a leading `-`, which §6.3.7 lets a receiver ignore). A line with any other one
/// (`UNENCRYPTED_SRTCP`, `UNENCRYPTED_SRTP`, `UNAUTHENTICATED_SRTP`, a nonzero `KDR`,
/// `FEC_KEY`, or an unknown mandatory one, which §6.3.7 makes the line invalid) is not
/// chosen: answering it without its parameters would protect one direction differently
/// from the other (an SBC sending SRTCP in the clear while telox encrypts its own, livekit
/// media-sdk#73).
fn is_harmless_session_param(p: &str) -> bool {
    matches!(p, "KDR=0" | "FEC_ORDER=FEC_SRTP")
        || p.starts_with('-')
        || p.strip_prefix("WSH=")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Tag, suite name and first key of an `a=crypto` value, allocating only the key; `None`
/// when malformed (where [`Crypto::parse`] fails).
pub(crate) fn crypto_first_key(value: &str) -> Option<(u32, &str, KeyParam)> {
    let mut first = None;
    crypto_fields(value, true, |b64, len, lifetime, mki| {
        if first.is_none() {
            first = Some(KeyParam {
                key_salt: decode_key(b64, len),
                lifetime,
                mki,
            });
        }
    })
    .ok()?;
    let mut it = split_on(value, b' ');
    let tag = crate::attr::decimal(it.next()?)?;
    Some((tag, it.next()?, first?))
}

/// The tag of an `a=crypto` value (its first field), for matching lines cheaply: on the
/// bytes, before any UTF-8 check of the whole value.
pub(crate) fn crypto_tag(value: &[u8]) -> Option<u32> {
    let end = crate::attr::find_byte(value, b' ').unwrap_or(value.len());
    let mut n = 0u32;
    for b in value.get(..end).filter(|t| !t.is_empty())? {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(n)
}

/// The longest key||salt of the suites telox generates keys for, in bytes.
pub(crate) const MAX_KEY_SALT: usize = 46;

/// Appends `<tag> <suite> inline:<base64 key||salt>`: the value of an `a=crypto` line
/// with one key and no lifetime, MKI or session parameters.
pub(crate) fn write_crypto(out: &mut String, tag: u32, suite: SrtpSuite, key_salt: &[u8]) {
    crate::attr::push_decimal(out, u64::from(tag));
    out.push(' ');
    out.push_str(suite.as_str());
    out.push_str(" inline:");
    B64.encode_string(key_salt, out);
}

/// The longest inline key||salt accepted, in base64 characters (RFC 4568 suites need 64).
const MAX_KEY_CHARS: usize = 128;

/// Checks an `a=crypto` value without allocating (the strict parser runs it on every line);
/// the lifetime and MKI numbers take a leading `+` only when `plus`.
pub(crate) fn check_crypto(value: &str, plus: bool) -> Result<(), AttributeError> {
    // The usual line, `<tag> <suite> inline:<key||salt>` with one key and nothing after
    // it, is checked without splitting the key parameters at `;`, `|` and ` ` (three more
    // passes over the key): a key that b64_len accepts holds none of those bytes, so
    // crypto_fields would find the same one key and accept it. Anything else goes the
    // long way, which names the field it rejects.
    // The tag is the digit run before the first space (`is_tag`).
    let tag = crate::attr::digit_run(value.as_bytes());
    if (1..=9).contains(&tag)
        && let Some(rest) = value.get(tag..).and_then(|r| r.strip_prefix(' '))
        && let Some((suite, key_params)) = split_byte(rest, b' ')
        && !suite.is_empty()
        && let Some(key) = key_params.strip_prefix("inline:")
        && !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && b64_len(key.as_bytes()).is_some()
    {
        return Ok(());
    }
    crypto_fields(value, plus, |_, _, _, _| ())
}

/// Whether `tag` is an `a=crypto` tag: 1 to 9 decimal digits (RFC 4568 §9.1).
#[inline]
fn is_tag(tag: &str) -> bool {
    (1..=9).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_digit())
}

/// Walks an `a=crypto` value; calls `key` for each key parameter with its base64
/// key||salt (checked, not decoded: see [`b64_len`]) and decoded length.
fn crypto_fields<'v>(
    value: &'v str,
    plus: bool,
    mut key: impl FnMut(&'v str, usize, Option<KeyLifetime>, Option<Mki>),
) -> Result<(), AttributeError> {
    let bad = |f| AttributeError::new("crypto", f);
    let mut it = split_on(value, b' ');
    let tag = it.next().unwrap_or_default();
    if !is_tag(tag) {
        return Err(bad("tag"));
    }
    it.next()
        .filter(|s| !s.is_empty())
        .ok_or(bad("crypto-suite"))?;
    let key_params = it
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(bad("key-params"))?;
    for (i, kp) in split_on(key_params, b';').enumerate() {
        if i >= 16 {
            return Err(bad("too many key-params"));
        }
        let (b64, len, lifetime, mki) = parse_key_param(kp, plus)?;
        key(b64, len, lifetime, mki);
    }
    Ok(())
}

/// The key||salt of a checked key parameter, decoded.
fn decode_key(b64: &str, len: usize) -> Vec<u8> {
    let mut out = [0u8; MAX_KEY_CHARS / 4 * 3];
    let value = |b: u8| u32::from(B64_VALUES.get(usize::from(b)).copied().unwrap_or(0) & 0x3f);
    // `b64_len` accepted it: every byte before the padding is a symbol. Whole groups of
    // four symbols make three bytes; the partial last group its leading bytes.
    let body = b64.as_bytes();
    let body = body
        .get(..body.len().min(len.div_ceil(3) * 4))
        .unwrap_or_default();
    for (group, dst) in body.chunks(4).zip(out.chunks_mut(3)) {
        let mut acc = 0u32;
        for i in 0..4 {
            acc = (acc << 6) | group.get(i).map_or(0, |b| value(*b));
        }
        let bytes = acc.to_be_bytes();
        for (d, b) in dst.iter_mut().zip(bytes.get(1..).unwrap_or_default()) {
            *d = *b;
        }
    }
    out.get(..len).unwrap_or_default().to_vec()
}

/// The decoded length of `s` when it is base64 that [`B64`] decodes (standard alphabet,
/// padding optional but never more than canonical, unused bits of the last symbol zero),
/// else `None`. A byte check without decoding: the strict parser runs it on every key.
fn b64_len(s: &[u8]) -> Option<usize> {
    // The padding is the run of `=` at the end; any other `=` is not a symbol.
    let data = s.len() - s.iter().rev().take_while(|b| **b == b'=').count();
    let (body, pad) = s.split_at_checked(data)?;
    // Every byte of the body a symbol of the standard alphabet, tested without a branch
    // per byte (the compiler makes it a vector loop).
    let symbols = body.iter().fold(true, |ok, &b| {
        ok & (((b | 0x20).wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | (b == b'+')
            | (b == b'/'))
    });
    if !symbols {
        return None;
    }
    let last = body
        .last()
        .map_or(0, |b| B64_VALUES.get(usize::from(*b)).copied().unwrap_or(0));
    let rem = body.len() % 4;
    // Padding: no more than completes the last group (fewer is accepted).
    if rem == 1 || pad.len() > (4 - rem) % 4 {
        return None;
    }
    // The bits of the last symbol beyond the last whole byte must be zero.
    let unused = match rem {
        2 => 0x0f,
        3 => 0x03,
        _ => 0,
    };
    (last & unused == 0).then_some(body.len() / 4 * 3 + rem.saturating_sub(1))
}

/// Marks a byte outside the base64 alphabet in [`B64_VALUES`].
const NOT_B64: u8 = 0xff;

/// The value of each base64 symbol (RFC 4648 §4), [`NOT_B64`] for other bytes.
const B64_VALUES: [u8; 256] = {
    let mut t = [NOT_B64; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        if i < 10 {
            t[b'0' as usize + i] = 52 + i as u8;
        }
        i += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

/// A checked key parameter: base64 key||salt, its decoded length, lifetime and MKI.
type KeyFields<'a> = (&'a str, usize, Option<KeyLifetime>, Option<Mki>);

/// The numbers (lifetime, MKI value and length) take a leading `+` only when `plus`.
fn parse_key_param(kp: &str, plus: bool) -> Result<KeyFields<'_>, AttributeError> {
    let bad = |f| AttributeError::new("crypto", f);
    let info = kp
        .strip_prefix("inline:")
        .ok_or(bad("key method (only inline)"))?;
    let mut parts = split_on(info, b'|');
    let key = parts.next().unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_CHARS {
        return Err(bad("key||salt"));
    }
    let len = b64_len(key.as_bytes()).ok_or(bad("key||salt base64"))?;
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        if let Some((value, length)) = split_byte(part, b':') {
            if mki.is_some() {
                return Err(bad("repeated mki"));
            }
            let value = unsigned(value, plus).ok_or(bad("mki value"))?;
            let length: u8 = unsigned(length, plus).ok_or(bad("mki length"))?;
            if !(1..=128).contains(&length) {
                return Err(bad("mki length"));
            }
            mki = Some(Mki { value, length });
        } else {
            if lifetime.is_some() || mki.is_some() {
                return Err(bad("lifetime"));
            }
            lifetime = Some(match part.strip_prefix("2^") {
                Some(exp) => KeyLifetime::PowerOfTwo(
                    unsigned(exp, plus)
                        .filter(|e| *e <= 64)
                        .ok_or(bad("lifetime"))?,
                ),
                None => KeyLifetime::Packets(unsigned(part, plus).ok_or(bad("lifetime"))?),
            });
        }
    }
    Ok((key, len, lifetime, mki))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn suite_names_in_any_case() {
        for s in SrtpSuite::ALL {
            assert_eq!(SrtpSuite::from_name(s.as_str()), Some(s));
            assert_eq!(
                SrtpSuite::from_name(&s.as_str().to_ascii_lowercase()),
                Some(s)
            );
        }
        assert_eq!(
            SrtpSuite::from_name("Aes_Cm_128_Hmac_Sha1_32"),
            Some(SrtpSuite::AesCm128HmacSha1_32)
        );
        for no in [
            "",
            "AES_CM_128_HMAC_SHA1",
            "F8_128_HMAC_SHA1_80",
            "AES_CM_128_HMAC_SHA1_80 ",
        ] {
            assert_eq!(SrtpSuite::from_name(no), None, "{no:?}");
        }
        let key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let choice = crypto_choice(&format!("1 aes_cm_128_hmac_sha1_80 {key}")).unwrap();
        assert_eq!(choice, (1, Some(SrtpSuite::AesCm128HmacSha1_80), true));
    }

    #[test]
    fn a_line_with_a_session_parameter_telox_does_not_run_is_not_chosen() {
        let key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let usable = |params: &str| {
            crypto_choice(&format!("1 AES_CM_128_HMAC_SHA1_80 {key}{params}")).map(|c| c.2)
        };
        assert_eq!(usable(""), Some(true));
        for ok in [
            " KDR=0",
            " WSH=128",
            " FEC_ORDER=FEC_SRTP",
            " -X_VENDOR=1",
            " WSH=64 KDR=0",
        ] {
            assert_eq!(usable(ok), Some(true), "{ok}");
        }
        for refused in [
            " UNENCRYPTED_SRTCP",
            " UNENCRYPTED_SRTP",
            " UNAUTHENTICATED_SRTP",
            " KDR=24",
            " FEC_ORDER=SRTP_FEC",
            " FEC_KEY=inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            " WSH=",
            " X_UNKNOWN",
            " WSH=128 UNENCRYPTED_SRTCP",
        ] {
            assert_eq!(usable(refused), Some(false), "{refused}");
        }
    }

    #[test]
    fn rfc4568_example_parses() {
        // RFC 4568 §4 example.
        let c = Crypto::parse(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
        )
        .unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite(), Some(SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(c.keys[0].key_salt.len(), 30);
        assert_eq!(c.keys[0].lifetime, Some(KeyLifetime::PowerOfTwo(20)));
        assert_eq!(
            c.keys[0].mki,
            Some(Mki {
                value: 1,
                length: 4
            })
        );
        assert!(c.usable_key().is_some());
        assert_eq!(
            c.to_attribute().value_str(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
        );
    }

    #[test]
    fn generated_keys_have_suite_length_and_round_trip() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for suite in SrtpSuite::ALL {
            let c = Crypto::generate(3, suite, &mut rng);
            let back = Crypto::parse(c.to_attribute().value_str()).unwrap();
            assert_eq!(back, c);
            assert_eq!(
                back.usable_key().unwrap().key_salt.len(),
                suite.key_salt_len()
            );
        }
    }

    #[test]
    fn bad_crypto_lines_are_rejected() {
        for v in [
            "",
            "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "1 AES_CM_128_HMAC_SHA1_80",
            "1 AES_CM_128_HMAC_SHA1_80 key:abc",
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99",
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:0",
            "1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        ] {
            assert!(Crypto::parse(v).is_err(), "{v}");
        }
    }

    #[test]
    fn b64_check_agrees_with_the_decoder() {
        // Every string of up to 5 symbols over an alphabet that exercises the rules: each
        // value class, zero and non-zero low bits, padding, and bytes outside the alphabet.
        let symbols = b"AQBg+/=!";
        let mut s = Vec::new();
        let mut checked = 0;
        for len in 0..=5u32 {
            for mut n in 0..(symbols.len() as u64).pow(len) {
                s.clear();
                for _ in 0..len {
                    s.push(symbols[(n % symbols.len() as u64) as usize]);
                    n /= symbols.len() as u64;
                }
                let want = B64.decode(&s).ok();
                let text = String::from_utf8_lossy(&s);
                assert_eq!(b64_len(&s), want.as_ref().map(Vec::len), "{text}");
                if let (Some(want), Some(len)) = (want, b64_len(&s)) {
                    assert_eq!(decode_key(&text, len), want, "{text}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 37_449);
        // Real keys, padded and not.
        for key in [
            "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            "YUJDZGVmZ2hpSktMbW5vcFFyc3RVVnd4eXo=",
            "YUJDZGVmZ2hpSktMbW5vcFFyc3RVVnd4eXo",
        ] {
            let want = B64.decode(key).unwrap();
            assert_eq!(b64_len(key.as_bytes()), Some(want.len()), "{key}");
            assert_eq!(decode_key(key, want.len()), want, "{key}");
        }
    }

    #[test]
    fn strength_order() {
        assert!(SrtpSuite::AeadAes256Gcm > SrtpSuite::AeadAes128Gcm);
        assert!(SrtpSuite::AeadAes128Gcm > SrtpSuite::Aes256CmHmacSha1_80);
        assert!(SrtpSuite::Aes256CmHmacSha1_32 > SrtpSuite::AesCm128HmacSha1_80);
        assert!(SrtpSuite::AesCm128HmacSha1_80 > SrtpSuite::AesCm128HmacSha1_32);
    }

    #[test]
    fn check_crypto_agrees_with_crypto_fields() {
        let key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let long = "A".repeat(132);
        let keys = [
            key.to_owned(),
            format!("{key}=="),
            key.get(..39).unwrap_or_default().to_owned(),
            format!("{}=", key.get(..38).unwrap_or_default()),
            "QUJD".to_owned(),
            "QUI=".to_owned(),
            "QUJ".to_owned(),
            "QR==".to_owned(),
            "Q===".to_owned(),
            "=".to_owned(),
            String::new(),
            long.get(..128).unwrap_or_default().to_owned(),
            long,
            "ab@d".to_owned(),
        ];
        let tails = [
            "",
            "|2^20",
            "|+1024",
            "|2^20|1:4",
            "|1:+4",
            ";inline:QUJD",
            " FEC_ORDER=FEC_SRTP",
            " ",
            "  x",
        ];
        let mut n = 0;
        for tag in ["1", "0", "123456789", "1234567890", "", "x", "+1"] {
            for suite in ["AES_CM_128_HMAC_SHA1_80", "X", ""] {
                for method in ["inline:", "INLINE:", "inline", ""] {
                    for k in &keys {
                        for tail in tails {
                            for sep in [" ", "  "] {
                                let v = format!("{tag}{sep}{suite} {method}{k}{tail}");
                                for plus in [false, true] {
                                    assert_eq!(
                                        check_crypto(&v, plus),
                                        crypto_fields(&v, plus, |_, _, _, _| ()),
                                        "{v:?}"
                                    );
                                    n += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(n > 10_000);
    }
}
