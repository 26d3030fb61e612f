//! The registrar core of RFC 3261 §10.3 over a [`LocationStore`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One Contact binding of an address-of-record (RFC 3261 §10.3 step 7).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Binding {
    /// The contact URI (without angle brackets), e.g. `sip:alice@192.0.2.4:5060`.
    pub contact: String,
    /// When the binding expires.
    pub expires_at: Instant,
    /// The `q` preference in thousandths (0..=1000), `None` when absent.
    pub q: Option<u16>,
    /// Call-ID of the REGISTER that last updated it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
}

impl Binding {
    /// Seconds left before expiry at `now` (rounded up), for the `expires` param of a 200.
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

/// Storage of bindings per address-of-record; the registrar's only state.
///
/// Implement it over a database for a clustered registrar; [`MemoryLocationStore`] is the
/// in-memory default. AORs are passed canonicalised (see [`canonical_aor`]).
pub trait LocationStore {
    /// The bindings of `aor`, expired ones included (the registrar filters them).
    fn bindings(&self, aor: &str) -> Vec<Binding>;
    /// Replaces all bindings of `aor` (an empty list removes the AOR).
    fn set_bindings(&mut self, aor: &str, bindings: Vec<Binding>);
    /// Number of AORs stored.
    fn aor_count(&self) -> usize;
    /// Drops expired bindings (called by [`Registrar::purge`]).
    fn purge(&mut self, now: Instant);
}

/// A `HashMap` [`LocationStore`].
#[derive(Clone, Debug, Default)]
pub struct MemoryLocationStore {
    map: HashMap<String, Vec<Binding>>,
}

impl LocationStore for MemoryLocationStore {
    fn bindings(&self, aor: &str) -> Vec<Binding> {
        self.map.get(aor).cloned().unwrap_or_default()
    }

    fn set_bindings(&mut self, aor: &str, bindings: Vec<Binding>) {
        if bindings.is_empty() {
            self.map.remove(aor);
        } else {
            self.map.insert(aor.to_owned(), bindings);
        }
    }

    fn aor_count(&self) -> usize {
        self.map.len()
    }

    fn purge(&mut self, now: Instant) {
        self.map.retain(|_, b| {
            b.retain(|b| b.expires_at > now);
            !b.is_empty()
        });
    }
}

/// Registrar policy (RFC 3261 §10.3 steps 7 and the 423 rule of §10.3 step 7).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RegistrarConfig {
    /// Expiry when the request gives none (3600 s, RFC 3261 §10.2.1.1).
    pub default_expires: u32,
    /// Shortest accepted non-zero expiry; shorter gets 423 with Min-Expires.
    pub min_expires: u32,
    /// Longest granted expiry; longer is shortened.
    pub max_expires: u32,
    /// Most bindings per AOR (more is answered 403-style with [`RegisterError::TooManyBindings`]).
    pub max_bindings: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 7200,
            max_bindings: 16,
        }
    }
}

/// The Contact part of a REGISTER.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Contacts {
    /// `Contact: *` (remove all bindings).
    Star,
    /// Zero or more contacts (none = a query for the current bindings).
    List(Vec<ContactEntry>),
}

/// One Contact header entry of a REGISTER.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ContactEntry {
    /// The contact URI without angle brackets.
    pub uri: String,
    /// Its `expires` parameter.
    pub expires: Option<u32>,
    /// Its `q` parameter in thousandths.
    pub q: Option<u16>,
}

/// The facts of a REGISTER the registrar acts on (extracted by the caller from a request).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RegisterRequest {
    /// The address-of-record from the To header, canonicalised with [`canonical_aor`].
    pub aor: String,
    /// Call-ID.
    pub call_id: String,
    /// CSeq number.
    pub cseq: u32,
    /// The `Expires` header, if any.
    pub expires: Option<u32>,
    /// The Contact headers.
    pub contacts: Contacts,
}

/// Why a REGISTER was refused, with the status code to answer.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// `*` with other contacts or a non-zero expiry (RFC 3261 §10.3 step 6): 400.
    #[error("contact * needs expires 0 and no other contact")]
    InvalidStar,
    /// The expiry is below `min_expires` (§10.3 step 7): 423 with this Min-Expires.
    #[error("expiry shorter than {min_expires} s")]
    IntervalTooBrief {
        /// The value for the Min-Expires header.
        min_expires: u32,
    },
    /// Same Call-ID and a CSeq not higher than the stored one (§10.3 step 7): 500.
    #[error("register out of order for this call-id")]
    OutOfOrder,
    /// More bindings than `max_bindings`: 403.
    #[error("more than {limit} bindings")]
    TooManyBindings {
        /// The limit.
        limit: usize,
    },
}

impl RegisterError {
    /// The status code answering this error.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::InvalidStar => 400,
            Self::IntervalTooBrief { .. } => 423,
            Self::OutOfOrder => 500,
            Self::TooManyBindings { .. } => 403,
        }
    }
}

/// The registrar: applies REGISTER requests to a [`LocationStore`] (RFC 3261 §10.3).
#[derive(Debug)]
pub struct Registrar<S> {
    config: RegistrarConfig,
    store: S,
}

impl<S: LocationStore> Registrar<S> {
    /// A registrar over `store`.
    pub fn new(config: RegistrarConfig, store: S) -> Self {
        Self { config, store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The live bindings of `aor` at `now`, highest q first (what a proxy forks to).
    pub fn lookup(&self, now: Instant, aor: &str) -> Vec<Binding> {
        let mut live: Vec<Binding> = self
            .store
            .bindings(aor)
            .into_iter()
            .filter(|b| b.expires_at > now)
            .collect();
        live.sort_by_key(|b| std::cmp::Reverse(b.q.unwrap_or(1000)));
        live
    }

    /// Applies one REGISTER; on success returns the AOR's current bindings for the 200
    /// (RFC 3261 §10.3 step 8: "The response SHOULD contain ... all current bindings").
    ///
    /// The update is atomic: on error nothing changes (§10.3 step 7: "the update MUST be
    /// aborted and the request fails").
    ///
    /// # Errors
    /// See [`RegisterError`] (each maps to its status code).
    pub fn register(
        &mut self,
        now: Instant,
        request: &RegisterRequest,
    ) -> Result<Vec<Binding>, RegisterError> {
        let mut bindings: Vec<Binding> = self
            .store
            .bindings(&request.aor)
            .into_iter()
            .filter(|b| b.expires_at > now)
            .collect();
        match &request.contacts {
            Contacts::Star => {
                // RFC 3261 §10.3 step 6: "If the request has additional Contact fields or a
                // request expiration time other than zero, the request is invalid, and the
                // server MUST return a 400 (Invalid Request)".
                if request.expires != Some(0) {
                    return Err(RegisterError::InvalidStar);
                }
                // "... it MUST remove all bindings ... only if the Call-ID differs or the
                // CSeq is higher" (the step 7 ordering check, applied to each binding).
                for b in &bindings {
                    if b.call_id == request.call_id && request.cseq <= b.cseq {
                        return Err(RegisterError::OutOfOrder);
                    }
                }
                bindings.clear();
            }
            Contacts::List(entries) => {
                for entry in entries {
                    let expires = entry
                        .expires
                        .or(request.expires)
                        .unwrap_or(self.config.default_expires);
                    // RFC 3261 §10.3 step 7: a registrar "MAY" shorten and "MUST NOT"
                    // lengthen; below its minimum it answers 423.
                    if expires != 0 && expires < self.config.min_expires {
                        return Err(RegisterError::IntervalTooBrief {
                            min_expires: self.config.min_expires,
                        });
                    }
                    let expires = expires.min(self.config.max_expires);
                    let existing = bindings
                        .iter()
                        .position(|b| same_contact(&b.contact, &entry.uri));
                    if let Some(i) = existing {
                        let b = &bindings[i];
                        if b.call_id == request.call_id && request.cseq <= b.cseq {
                            return Err(RegisterError::OutOfOrder);
                        }
                    }
                    let binding = Binding {
                        contact: entry.uri.clone(),
                        expires_at: now + Duration::from_secs(u64::from(expires)),
                        q: entry.q,
                        call_id: request.call_id.clone(),
                        cseq: request.cseq,
                    };
                    match (existing, expires) {
                        (Some(i), 0) => {
                            bindings.remove(i);
                        }
                        (Some(i), _) => bindings[i] = binding,
                        (None, 0) => {}
                        (None, _) => bindings.push(binding),
                    }
                }
                if bindings.len() > self.config.max_bindings {
                    return Err(RegisterError::TooManyBindings {
                        limit: self.config.max_bindings,
                    });
                }
            }
        }
        self.store.set_bindings(&request.aor, bindings.clone());
        Ok(bindings)
    }

    /// Drops expired bindings from the store.
    pub fn purge(&mut self, now: Instant) {
        self.store.purge(now);
    }
}

/// The canonical form of an address-of-record: `sip:user@host` with scheme and host
/// lowercased and parameters, headers, port and display name dropped (RFC 3261 §10.3 step 5:
/// "converting it to the form sip:user@host").
pub fn canonical_aor(uri: &str) -> String {
    let uri = strip_brackets(uri);
    let (scheme, rest) = match uri.split_once(':') {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::from("sip"), uri),
    };
    let rest = rest.split([';', '?', '>']).next().unwrap_or("");
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    let scheme = if scheme == "sips" { "sips" } else { "sip" };
    match user {
        Some(u) => format!("{scheme}:{u}@{host}"),
        None => format!("{scheme}:{host}"),
    }
}

fn strip_brackets(uri: &str) -> &str {
    let uri = uri.trim();
    match (uri.find('<'), uri.rfind('>')) {
        (Some(a), Some(b)) if a < b => &uri[a + 1..b],
        _ => uri,
    }
}

/// Contact URIs compared per RFC 3261 §19.1.4 in its common form: scheme and host
/// case-insensitive, user part case-sensitive, URI parameters ignored.
fn same_contact(a: &str, b: &str) -> bool {
    fn key(uri: &str) -> (String, String) {
        let uri = strip_brackets(uri);
        let main = uri.split([';', '?']).next().unwrap_or("");
        match main.rsplit_once('@') {
            Some((user_part, host)) => {
                let (scheme, user) = user_part.split_once(':').unwrap_or(("sip", user_part));
                (
                    format!("{}:{user}", scheme.to_ascii_lowercase()),
                    host.to_ascii_lowercase(),
                )
            }
            None => (String::new(), main.to_ascii_lowercase()),
        }
    }
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_aor_drops_params_port_and_case() {
        assert_eq!(
            canonical_aor("\"Bob\" <sip:bob@BILOXI.com:5060;transport=udp>"),
            "sip:bob@biloxi.com"
        );
        assert_eq!(
            canonical_aor("SIPS:Alice@Atlanta.com"),
            "sips:Alice@atlanta.com"
        );
        assert_eq!(canonical_aor("sip:example.com"), "sip:example.com");
    }

    #[test]
    fn contacts_compare_case_insensitive_host_only() {
        assert!(same_contact("<sip:a@HOST:5060;ob>", "sip:a@host:5060"));
        assert!(!same_contact("sip:A@host", "sip:a@host"));
    }
}
