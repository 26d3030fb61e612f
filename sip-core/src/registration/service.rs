//! A registrar on messages: REGISTER in, response out, with optional digest authentication.

use std::time::Instant;

use crate::auth::{Credentials, DigestSecret, DigestServer, Verdict};
use crate::header::{CSeq, CallId, Contact, Expires, HeaderName, To};
use crate::msg::{Request, Response, StatusCode};

use super::registrar::{
    Binding, ContactEntry, Contacts, LocationStore, RegisterError, RegisterRequest, Registrar,
    canonical_aor,
};

/// Looks up the digest secret of a user name (for one realm); `None` for unknown users.
pub trait SecretStore {
    /// The secret of `username`, if the user exists.
    fn secret(&self, username: &str) -> Option<DigestSecret>;
}

impl<F: Fn(&str) -> Option<DigestSecret>> SecretStore for F {
    fn secret(&self, username: &str) -> Option<DigestSecret> {
        self(username)
    }
}

/// What [`RegistrarService::handle`] decided.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum RegisterOutcome {
    /// 200 with the current bindings of `aor`.
    Registered {
        /// The canonical AOR.
        aor: String,
        /// Its live bindings.
        bindings: Vec<Binding>,
    },
    /// 401 with a challenge (`stale` when the nonce had expired).
    Challenged {
        /// True when the previous credentials were right but stale.
        stale: bool,
    },
    /// Authentication failed for good: 403.
    Forbidden,
    /// The request was refused with this status.
    Refused(u16),
}

/// REGISTER handling per RFC 3261 §10.3 over a [`Registrar`], authenticating with a
/// [`DigestServer`] when one is configured (§10.3 step 2, §22).
#[derive(Debug)]
pub struct RegistrarService<S, A> {
    registrar: Registrar<S>,
    auth: Option<(DigestServer, A)>,
}

impl<S: LocationStore, A: SecretStore> RegistrarService<S, A> {
    /// A registrar without authentication.
    pub fn new(registrar: Registrar<S>) -> Self {
        Self {
            registrar,
            auth: None,
        }
    }

    /// A registrar that challenges every REGISTER and checks credentials against `secrets`.
    pub fn with_auth(registrar: Registrar<S>, server: DigestServer, secrets: A) -> Self {
        Self {
            registrar,
            auth: Some((server, secrets)),
        }
    }

    /// The registrar (for lookups by a proxy or B2BUA).
    pub fn registrar(&self) -> &Registrar<S> {
        &self.registrar
    }

    /// Handles a REGISTER and builds the response to send on its server transaction.
    /// `to_tag` is the tag for the response's To header (from the caller's RNG).
    pub fn handle(
        &mut self,
        now: Instant,
        request: &Request,
        to_tag: &str,
    ) -> (Response, RegisterOutcome) {
        if let Some((server, secrets)) = self.auth.as_mut() {
            let creds = request
                .headers()
                .named(HeaderName::Authorization)
                .filter_map(|h| h.value_str())
                .filter_map(|v| Credentials::parse(v).ok())
                .find(|c| c.realm == server.realm());
            let verdict = match creds {
                None => Verdict::Rejected(crate::auth::AuthRejection::UnknownNonce),
                Some(c) => match secrets.secret(&c.username) {
                    // RFC 3261 §10.3 step 3 lets the registrar check that the user may
                    // register this AOR; we require user name == AOR user part.
                    Some(secret) if aor_user_matches(request, &c.username) => {
                        server.verify(now, "REGISTER", &c, &secret)
                    }
                    Some(_) => {
                        return (respond(request, 403, to_tag), RegisterOutcome::Forbidden);
                    }
                    None => Verdict::Rejected(crate::auth::AuthRejection::WrongResponse),
                },
            };
            match verdict {
                Verdict::Authorized => {}
                Verdict::Stale | Verdict::Rejected(_) => {
                    let stale = verdict == Verdict::Stale;
                    let mut b = Response::builder(request, StatusCode::UNAUTHORIZED).to_tag(to_tag);
                    for c in server.challenge(now, stale) {
                        if let Ok(nb) = b.clone().raw_header("WWW-Authenticate", &c.to_string()) {
                            b = nb;
                        }
                    }
                    return (b.build(), RegisterOutcome::Challenged { stale });
                }
            }
        }
        let parsed = match register_request(request) {
            Ok(r) => r,
            Err(status) => {
                return (
                    respond(request, status, to_tag),
                    RegisterOutcome::Refused(status),
                );
            }
        };
        match self.registrar.register(now, &parsed) {
            Ok(bindings) => {
                let mut b = Response::builder(request, StatusCode::OK).to_tag(to_tag);
                for binding in &bindings {
                    let value = format!(
                        "<{}>;expires={}",
                        binding.contact,
                        binding.remaining_secs(now)
                    );
                    if let Ok(nb) = b.clone().raw_header("Contact", &value) {
                        b = nb;
                    }
                }
                (
                    b.build(),
                    RegisterOutcome::Registered {
                        aor: parsed.aor,
                        bindings,
                    },
                )
            }
            Err(e) => {
                let status = e.status_code();
                let mut b = Response::builder(request, StatusCode(status)).to_tag(to_tag);
                if let RegisterError::IntervalTooBrief { min_expires } = e
                    && let Ok(nb) = b
                        .clone()
                        .raw_header("Min-Expires", &min_expires.to_string())
                {
                    b = nb;
                }
                (b.build(), RegisterOutcome::Refused(status))
            }
        }
    }
}

/// Extracts the registrar facts of a REGISTER; `Err(400)` when To, Call-ID, CSeq or a
/// Contact is malformed.
///
/// # Errors
/// The status code to answer (400).
pub fn register_request(request: &Request) -> Result<RegisterRequest, u16> {
    let Some(Ok(to)) = request.header::<To>() else {
        return Err(400);
    };
    let Some(Ok(call_id)) = request.header::<CallId>() else {
        return Err(400);
    };
    let Some(Ok(cseq)) = request.header::<CSeq>() else {
        return Err(400);
    };
    let expires = match request.header::<Expires>() {
        Some(Ok(e)) => Some(e.0),
        Some(Err(_)) => return Err(400),
        None => None,
    };
    let mut entries = Vec::new();
    let mut star = false;
    for c in request.header_all::<Contact>() {
        match c {
            Ok(Contact::Wildcard) => star = true,
            Ok(c) => {
                let Some(uri) = c.uri() else { return Err(400) };
                entries.push(ContactEntry {
                    uri: uri.to_string(),
                    expires: c.expires(),
                    q: c.q(),
                });
            }
            Err(_) => return Err(400),
        }
    }
    let contacts = if star {
        if !entries.is_empty() {
            return Err(400);
        }
        Contacts::Star
    } else {
        Contacts::List(entries)
    };
    Ok(RegisterRequest {
        aor: canonical_aor(to.uri().as_str()),
        call_id: call_id.as_str().to_owned(),
        cseq: cseq.seq(),
        expires,
        contacts,
    })
}

fn aor_user_matches(request: &Request, username: &str) -> bool {
    match request.header::<To>() {
        Some(Ok(to)) => to.uri().user().is_none_or(|u| u == username),
        _ => false,
    }
}

fn respond(request: &Request, status: u16, to_tag: &str) -> Response {
    Response::builder(request, StatusCode(status))
        .to_tag(to_tag)
        .build()
}
