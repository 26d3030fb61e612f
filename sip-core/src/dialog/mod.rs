//! Dialogs (RFC 3261 §12): creation from a 2xx or a 1xx with a To tag (early dialogs),
//! route sets from Record-Route, target refresh, CSeq bookkeeping and in-dialog requests.
//!
//! A [`Dialog`] is plain state: it builds requests and checks incoming ones; the UA core
//! ([`crate::ua`]) owns dialogs and sends what they build through its transactions.

use bytes::Bytes;

use crate::header::{CSeq, CallId, Contact, From, MaxForwards, RecordRoute, Route, To, Via};
use crate::msg::{Method, Request, Response};
use crate::uri::Uri;

/// Identifies a dialog: Call-ID, local tag and remote tag (RFC 3261 §12).
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From tag as UAC, To tag as UAS).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Dialog state (RFC 3261 §12.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, or a failure for an early dialog).
    Terminated,
}

/// Why a dialog could not be created or a request was refused, with the status to answer.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A header needed to build the dialog is missing or malformed.
    #[error("missing or malformed {0}")]
    Missing(&'static str),
    /// The response has no To tag, so it creates no dialog (RFC 3261 §12.1.2).
    #[error("response without to tag")]
    NoRemoteTag,
    /// The in-dialog request's CSeq is not higher than the last one (§12.2.2): 500.
    #[error("cseq {got} not above {last}")]
    CSeqOutOfOrder {
        /// CSeq received.
        got: u32,
        /// Highest seen before.
        last: u32,
    },
    /// The dialog is terminated.
    #[error("dialog terminated")]
    Terminated,
}

impl DialogError {
    /// The status code a UAS answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::CSeqOutOfOrder { .. } => 500,
            Self::Terminated => 481,
            _ => 400,
        }
    }
}

/// One dialog (RFC 3261 §12).
#[derive(Clone, Debug)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    is_uac: bool,
    /// Our From/To header value (with our tag).
    local: NameAddrs,
    local_seq: u32,
    remote_seq: Option<u32>,
    remote_target: Uri,
    /// Route set, in the order to put into Route headers.
    route_set: Vec<Route>,
    secure: bool,
    /// Our Contact for target-refresh requests.
    local_contact: Option<Contact>,
}

#[derive(Clone, Debug)]
struct NameAddrs {
    local: From,
    remote: To,
}

impl Dialog {
    /// The UAC side, from the INVITE (or SUBSCRIBE/REFER) sent and a response carrying a
    /// To tag: 1xx gives an early dialog, 2xx a confirmed one (RFC 3261 §12.1.2).
    ///
    /// # Errors
    /// [`DialogError::NoRemoteTag`], [`DialogError::Missing`].
    pub fn new_uac(request: &Request, response: &Response) -> Result<Self, DialogError> {
        let to = typed::<To>(response.header::<To>(), "To")?;
        let remote_tag = to.tag().ok_or(DialogError::NoRemoteTag)?.to_owned();
        let from = typed::<From>(request.header::<From>(), "From")?;
        let local_tag = from
            .tag()
            .ok_or(DialogError::Missing("From tag"))?
            .to_owned();
        let call_id = typed::<CallId>(request.header::<CallId>(), "Call-ID")?;
        let cseq = typed::<CSeq>(request.header::<CSeq>(), "CSeq")?;
        let route_set = uac_route_set(response);
        // "The remote target MUST be set to the URI from the Contact header field of the
        // response." Without one (a broken 1xx), the Request-URI is the best we have.
        let remote_target = match response.header::<Contact>() {
            Some(Ok(c)) => c.uri().cloned().unwrap_or_else(|| request.uri()),
            _ => request.uri(),
        };
        let state = if response.status().is_success() {
            DialogState::Confirmed
        } else {
            DialogState::Early
        };
        Ok(Self {
            id: DialogId {
                call_id: call_id.as_str().to_owned(),
                local_tag,
                remote_tag,
            },
            state,
            is_uac: true,
            local: NameAddrs {
                local: from,
                remote: to,
            },
            local_seq: cseq.seq(),
            remote_seq: None,
            secure: request.uri().scheme_str().eq_ignore_ascii_case("sips"),
            remote_target,
            route_set,
            local_contact: request.header::<Contact>().and_then(Result::ok),
        })
    }

    /// The UAS side, from a dialog-creating request and the To tag we chose
    /// (RFC 3261 §12.1.1). `early` is true when the response that creates it is a 1xx.
    ///
    /// # Errors
    /// [`DialogError::Missing`] when the request lacks From (with tag), Call-ID, CSeq or
    /// Contact.
    pub fn new_uas(
        request: &Request,
        local_tag: &str,
        local_contact: Option<Contact>,
        early: bool,
    ) -> Result<Self, DialogError> {
        let from = typed::<From>(request.header::<From>(), "From")?;
        let remote_tag = from
            .tag()
            .ok_or(DialogError::Missing("From tag"))?
            .to_owned();
        let to = typed::<To>(request.header::<To>(), "To")?;
        let call_id = typed::<CallId>(request.header::<CallId>(), "Call-ID")?;
        let cseq = typed::<CSeq>(request.header::<CSeq>(), "CSeq")?;
        // RFC 3261 §12.1.1: "The route set MUST be set to the list of URIs in the
        // Record-Route header field from the request, taken in order".
        let route_set = request
            .header_all::<RecordRoute>()
            .filter_map(Result::ok)
            .map(|r| Route(r.0))
            .collect();
        let contact = typed::<Contact>(request.header::<Contact>(), "Contact")?;
        let remote_target = contact
            .uri()
            .cloned()
            .ok_or(DialogError::Missing("Contact"))?;
        // Our view: local = the request's To with our tag, remote = its From.
        let local = From(to.with_tag(local_tag).0);
        let remote = To(from.0);
        Ok(Self {
            id: DialogId {
                call_id: call_id.as_str().to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            state: if early {
                DialogState::Early
            } else {
                DialogState::Confirmed
            },
            is_uac: false,
            local: NameAddrs { local, remote },
            // RFC 3261 §12.1.1: "The local sequence number MUST be empty." It is set by the
            // first request we send (see `request`).
            local_seq: 0,
            remote_seq: Some(cseq.seq()),
            secure: request.uri().scheme_str().eq_ignore_ascii_case("sips"),
            remote_target,
            route_set,
            local_contact,
        })
    }

    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// The state.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// True when we sent the dialog-creating request.
    pub fn is_uac(&self) -> bool {
        self.is_uac
    }

    /// The remote target (the peer's Contact, refreshed by target-refresh requests).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set.
    pub fn route_set(&self) -> &[Route] {
        &self.route_set
    }

    /// The local CSeq of the last request we sent.
    pub fn local_seq(&self) -> u32 {
        self.local_seq
    }

    /// The highest CSeq received from the peer.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// True for a `sips:` dialog.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Marks the dialog confirmed (a 2xx arrived or was sent).
    pub fn confirm(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// Confirms an early UAC dialog with the 2xx that matches it (RFC 3261 §13.2.2.4: "the
    /// dialog MUST be transitioned to the "confirmed" state, and the route set for the
    /// dialog MUST be recomputed based on the 2xx response"): route set from the 2xx's
    /// Record-Route (reversed), remote target from its Contact. The local CSeq is kept, so
    /// requests sent in the early dialog (PRACK, UPDATE) are not reused.
    pub fn confirm_with(&mut self, response: &Response) {
        if self.is_uac {
            self.route_set = uac_route_set(response);
        }
        if let Some(Ok(contact)) = response.header::<Contact>()
            && let Some(uri) = contact.uri()
        {
            self.remote_target = uri.clone();
        }
        if let Some(Ok(to)) = response.header::<To>() {
            self.local.remote = to;
        }
        self.confirm();
    }

    /// Marks the dialog terminated (BYE sent or received, early dialog failed).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// The URI to send the next in-dialog request to: the first route, or the remote target
    /// (the caller resolves it per RFC 3263 to a [`crate::transaction::Target`]).
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map_or(&self.remote_target, |r| r.uri())
    }

    /// Builds an in-dialog request (RFC 3261 §12.2.1.1) with `via` as its only Via; takes
    /// the next local CSeq (ACK and CANCEL reuse the current one, see [`Dialog::ack`]).
    ///
    /// Target refresh requests (INVITE, UPDATE, SUBSCRIBE, REFER, NOTIFY) carry our Contact.
    pub fn request(&mut self, method: Method, via: Via) -> Request {
        if self.local_seq == 0 {
            // RFC 3261 §12.1.1: the UAS's first request picks its own starting number.
            self.local_seq = 1;
        } else {
            self.local_seq = self.local_seq.wrapping_add(1);
        }
        self.build(method, self.local_seq, via)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (RFC 3261 §13.2.2.4: "The
    /// sequence number of the CSeq header field MUST be the same as the INVITE being
    /// acknowledged"), sent end-to-end with its own branch in `via`.
    pub fn ack(&self, invite_seq: u32, via: Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    /// Checks an in-dialog request from the peer and applies it (RFC 3261 §12.2.2): CSeq
    /// ordering and target refresh.
    ///
    /// # Errors
    /// [`DialogError::CSeqOutOfOrder`] (answer 500), [`DialogError::Terminated`] (481).
    pub fn handle_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        let cseq = typed::<CSeq>(request.header::<CSeq>(), "CSeq")?;
        let method = request.method();
        if !matches!(method, Method::Ack | Method::Cancel) {
            // RFC 3261 §12.2.2: "If the remote sequence number was not empty, but the
            // sequence number of the request is lower than the remote sequence number, the
            // request is out of order and MUST be rejected with a 500".
            if let Some(last) = self.remote_seq
                && cseq.seq() <= last
            {
                return Err(DialogError::CSeqOutOfOrder {
                    got: cseq.seq(),
                    last,
                });
            }
            self.remote_seq = Some(cseq.seq());
        }
        if is_target_refresh(method)
            && let Some(Ok(contact)) = request.header::<Contact>()
            && let Some(uri) = contact.uri()
        {
            self.remote_target = uri.clone();
        }
        if *method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Applies a response to a request we sent in this dialog: a 2xx confirms an early
    /// dialog and a 2xx to a target refresh updates the remote target (RFC 3261 §12.2.1.2);
    /// 481 or 408 to an in-dialog request ends the dialog (§12.2.1.2).
    pub fn handle_response(&mut self, method: &Method, response: &Response) {
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            if *method == Method::Invite {
                self.confirm();
            }
            if is_target_refresh(method)
                && let Some(Ok(contact)) = response.header::<Contact>()
                && let Some(uri) = contact.uri()
            {
                self.remote_target = uri.clone();
            }
        } else if status == 481 || status == 408 {
            // RFC 3261 §12.2.1.2: "If the response for a request within a dialog is a 481
            // (Call/Transaction Does Not Exist) or a 408 (Request Timeout), the UAC SHOULD
            // terminate the dialog."
            self.state = DialogState::Terminated;
        }
    }

    fn build(&self, method: Method, seq: u32, via: Via) -> Request {
        // RFC 3261 §12.2.1.1 route handling.
        let (uri, routes): (Uri, Vec<Route>) = match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri().param("lr").is_some() => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some(first) => {
                // Strict routing: "the UAC MUST place the first URI from the route set into
                // the Request-URI, stripping any parameters that are not allowed in a
                // Request-URI ... the UAC MUST add the remote target as the last value".
                let mut rest: Vec<Route> = self.route_set.iter().skip(1).cloned().collect();
                rest.push(Route::new(self.remote_target.clone()));
                (first.uri().clone(), rest)
            }
        };
        let mut b = Request::builder(method.clone(), uri)
            .header(via)
            .header(MaxForwards(70))
            .header(self.local.local.clone())
            .header(self.local.remote.clone());
        if let Ok(call_id) = CallId::new(&self.id.call_id) {
            b = b.header(call_id);
        }
        b = b.header(CSeq::new(seq, method.clone()));
        for r in routes {
            b = b.header(r);
        }
        if is_target_refresh(&method)
            && let Some(c) = &self.local_contact
        {
            b = b.header(c.clone());
        }
        b.body(Bytes::new()).build()
    }
}

/// Target refresh requests (RFC 3261 §12.2, RFC 3311, RFC 6665, RFC 3515).
pub fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

/// RFC 3261 §12.1.2: "The route set MUST be set to the list of URIs in the Record-Route
/// header field from the response, taken in reverse order".
fn uac_route_set(response: &Response) -> Vec<Route> {
    let mut route_set: Vec<Route> = response
        .header_all::<RecordRoute>()
        .filter_map(Result::ok)
        .map(|r| Route(r.0))
        .collect();
    route_set.reverse();
    route_set
}

fn typed<H>(
    h: Option<Result<H, crate::header::HeaderError>>,
    name: &'static str,
) -> Result<H, DialogError> {
    match h {
        Some(Ok(h)) => Ok(h),
        _ => Err(DialogError::Missing(name)),
    }
}
