//! [`Transactions`]: every transaction of one endpoint, sans-IO (STYLE.md §2).

use std::collections::{HashMap, VecDeque, hash_map};
use std::hash::{BuildHasher as _, BuildHasherDefault, Hasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;

use super::machine::{Kind, Machine, Output, State, Termination, Waiter};
use super::timer::{Deadlines, TimerConfig};
use super::wire::{self, KeyMethod, RequestFacts, ViaMemo};
use crate::msg::{Message, Method, Request, Response};

/// A transport protocol (RFC 3261 §18, RFC 7118).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Transport {
    /// UDP, unreliable: the transactions retransmit.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP (`sips:`).
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// True for every transport but UDP (RFC 3261 §17.1.1.2: retransmission timers only run
    /// on unreliable transports).
    pub fn is_reliable(self) -> bool {
        self != Self::Udp
    }

    /// The token written in a Via (`UDP`, `TCP`, `TLS`, `WS`, `WSS`).
    pub fn as_via_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Ws => "WS",
            Self::Wss => "WSS",
        }
    }

    /// The transport named by a Via token (case-insensitive).
    pub fn from_via_str(token: &str) -> Option<Self> {
        [Self::Udp, Self::Tcp, Self::Tls, Self::Ws, Self::Wss]
            .into_iter()
            .find(|t| t.as_via_str().eq_ignore_ascii_case(token))
    }
}

/// Where a message came from or goes to: transport and socket address. For connection
/// transports the I/O glue maps the address to its connection (reused for responses,
/// RFC 3261 §18.2.2).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Target {
    /// Transport.
    pub transport: Transport,
    /// Remote address.
    pub addr: SocketAddr,
}

/// Bytes to send.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Transmit {
    /// Transport to send on.
    pub transport: Transport,
    /// Destination (for connection transports: the connection to this address).
    pub destination: SocketAddr,
    /// One encoded SIP message.
    pub payload: Bytes,
    /// Send on a connection of the sender's own, never on one accepted from `destination`:
    /// set for a client request the transaction layer moved from UDP to TCP for its size
    /// (RFC 3261 §18.1.1). Its target is a UDP address, so the peer never said it can be
    /// reached over a connection from that address and port, which behind a NAT may be
    /// another endpoint's (RFC 5923 and RFC 5626 allow such reuse only when the peer asks).
    pub own_connection: bool,
}

/// Identifies one transaction (RFC 3261 §17.1.3 for clients, §17.2.3 for servers).
///
/// Holds copies of the branch and the (lower-cased) sent-by host, inline when they are short
/// as branches and hosts usually are, so making, cloning and dropping a key does not touch the
/// allocator and a key does not keep a message buffer alive. The method is a one-byte code;
/// an extension method's name follows the host in the same text. The key is 72 bytes
/// (x86-64), so an event queue entry holding one stays within the 128 bytes that a move
/// copies inline rather than through a `memcpy` call.
#[derive(Clone)]
pub struct TransactionKey {
    /// Slot and generation of the transaction in the endpoint that handed the key out: a
    /// hint that spares [`Transactions::send_response`] and friends the hash look-up. It is
    /// always checked by comparing the whole key, and is not part of the key's identity
    /// (equality, hash).
    slot: Option<(u32, u32)>,
    server: bool,
    /// The method part, [`KeyMethod::code`].
    method: u8,
    /// The sent-by port of the top Via (server side only).
    port: Option<u16>,
    /// Where the branch ends in `text`.
    branch_len: u16,
    /// Where the sent-by host ends in `text`.
    host_end: u16,
    /// The branch, the lower-cased sent-by host (server side only) and the name of an
    /// extension method.
    text: KeyText,
}

/// Bytes that fit most branch + host pairs: the key is then 72 bytes (x86-64, its slot hint
/// included) with no allocation.
const INLINE_KEY: usize = 46;

/// Short text stored inline, longer text on the heap. Only ever built from UTF-8 pieces
/// (checked by the Via scan, `wire::utf8`) that are ASCII-lower-cased at most, so it is
/// always UTF-8.
#[derive(Clone)]
enum KeyText {
    Inline { len: u8, buf: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl KeyText {
    /// `exact`, then `lower` lower-cased, then `tail` (an extension method's name, usually
    /// empty).
    fn new(exact: &[u8], lower: &[u8], tail: &[u8]) -> Self {
        let len = exact.len() + lower.len() + tail.len();
        if len <= INLINE_KEY {
            let mut buf = [0; INLINE_KEY];
            let (a, b) = buf.split_at_mut(exact.len());
            a.copy_from_slice(exact);
            let (b, c) = b.split_at_mut(lower.len().min(b.len()));
            b.copy_from_slice(lower.get(..b.len()).unwrap_or_default());
            b.make_ascii_lowercase();
            if !tail.is_empty()
                && let Some(c) = c.get_mut(..tail.len())
            {
                c.copy_from_slice(tail);
            }
            Self::Inline {
                len: len as u8,
                buf,
            }
        } else {
            let mut v = Vec::with_capacity(len);
            v.extend_from_slice(exact);
            v.extend(lower.iter().map(|b| b.to_ascii_lowercase()));
            v.extend_from_slice(tail);
            Self::Heap(v.into_boxed_slice())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Self::Heap(b) => b,
        }
    }
}

impl PartialEq for KeyText {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Whole fixed-size buffers (zero past `len`): compared without a `memcmp` call,
            // on every message that matches a transaction.
            (Self::Inline { len: a, buf: x }, Self::Inline { len: b, buf: y }) => a == b && x == y,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for KeyText {}

impl PartialEq for TransactionKey {
    fn eq(&self, other: &Self) -> bool {
        // Every field but the slot hint, destructured so that a field added later must be
        // placed here (`Hash` may leave one out: equal keys still hash alike).
        let Self {
            slot: _,
            server,
            method,
            port,
            branch_len,
            host_end,
            text,
        } = self;
        *server == other.server
            && *port == other.port
            && *branch_len == other.branch_len
            && *host_end == other.host_end
            && *method == other.method
            && *text == other.text
    }
}

impl Eq for TransactionKey {}

/// Two writes per key (the small fields packed in one word, the text) rather than one per
/// field: the index hashes a key for every message.
impl std::hash::Hash for TransactionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let port = self.port.map_or(0, |p| 0x1_0000 | u64::from(p));
        state.write_u64(
            u64::from(self.server)
                | port << 1
                | u64::from(self.branch_len) << 18
                | u64::from(self.host_end) << 34
                | u64::from(self.method) << 50,
        );
        state.write(self.text.as_bytes());
    }
}

impl std::fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionKey")
            .field("server", &self.server)
            .field("branch", &self.branch())
            .field("method", &self.method_name())
            .field("sent_by", &self.sent_by_host())
            .field("port", &self.port)
            .finish()
    }
}

impl TransactionKey {
    /// What a removed entry's key is replaced with while the entry is dropped in place (no
    /// allocation; never handed out nor looked up).
    const VACANT: Self = Self {
        slot: None,
        server: false,
        method: 0,
        port: None,
        branch_len: 0,
        host_end: 0,
        text: KeyText::Inline {
            len: 0,
            buf: [0; INLINE_KEY],
        },
    };

    /// True for server transactions.
    pub fn is_server(&self) -> bool {
        self.server
    }

    /// The branch (for an RFC 2543 request without the magic cookie, a digest of the
    /// fallback matching fields, prefixed `2543:`).
    pub fn branch(&self) -> &str {
        std::str::from_utf8(self.branch_bytes()).unwrap_or_default()
    }

    /// The branch as bytes (see [`TransactionKey::branch`]).
    fn branch_bytes(&self) -> &[u8] {
        let bytes = self.text.as_bytes();
        bytes
            .get(..usize::from(self.branch_len))
            .unwrap_or_default()
    }

    fn sent_by_host(&self) -> &str {
        let bytes = self.text.as_bytes();
        std::str::from_utf8(
            bytes
                .get(usize::from(self.branch_len)..usize::from(self.host_end))
                .unwrap_or_default(),
        )
        .unwrap_or_default()
    }

    /// The method's name (see [`KeyMethod::code`]).
    fn method_name(&self) -> &str {
        KeyMethod::name_of(self.method).unwrap_or_else(|| {
            let tail = self.text.as_bytes().get(usize::from(self.host_end)..);
            std::str::from_utf8(tail.unwrap_or_default()).unwrap_or_default()
        })
    }

    /// The key of `branch` (UTF-8), `host` (UTF-8, lower-cased here; empty for a client),
    /// `port` and `method`; `None` for a branch and host above 64 KiB (no such request
    /// parses).
    fn new(
        server: bool,
        branch: &[u8],
        host: &[u8],
        port: Option<u16>,
        method: &KeyMethod,
    ) -> Option<Self> {
        let (method, tail) = method.code();
        Some(Self {
            slot: None,
            server,
            method,
            port,
            branch_len: u16::try_from(branch.len()).ok()?,
            host_end: u16::try_from(branch.len() + host.len()).ok()?,
            text: KeyText::new(branch, host, tail),
        })
    }

    /// The key of a request; `None` for a branch above 64 KiB (no such request parses).
    ///
    /// What it is made of: the top Via's branch and the method part of [`KeyMethod`], where
    /// ACK counts as INVITE (the ACK of a non-2xx matches its INVITE server transaction, RFC
    /// 3261 §17.2.3) and CANCEL is a transaction of its own (§9.2). A client key (§17.1.3)
    /// is the branch and the method only: the client chose the branch, and a response
    /// carries it back in the top Via. A server key (§17.2.3) adds the top Via's sent-by,
    /// host lower-cased and port, since two clients may pick the same branch. That holds for
    /// a branch that starts with the magic cookie `z9hG4bK`; for an RFC 2543 request without
    /// it, the Via scan (`wire::request_facts_with`) has put in `facts.branch` the text
    /// `2543:` + Request-URI, From tag, Call-ID, CSeq number and the whole top Via value (the
    /// To tag is left out so that the ACK of a non-2xx, which carries the response's To tag,
    /// matches), and the key holds that text where a branch would be. `branch_len` and
    /// `host_end` mark where the branch and the host end in the key's text and are part of
    /// its identity: branch `z9hG4bKab` with host `c` is not branch `z9hG4bKa` with host
    /// `bc`, nor host `ab` with extension method `cX` the host `abc` with method `X`.
    pub(crate) fn for_request(server: bool, facts: &RequestFacts<'_>) -> Option<Self> {
        let (host, port) = if server {
            (facts.sent_by_host, facts.sent_by_port)
        } else {
            (&b""[..], None)
        };
        Self::new(server, &facts.branch, host, port, &facts.key_method)
    }

    /// `branch` is UTF-8 (from the Via scan).
    pub(crate) fn client(branch: &[u8], method: &KeyMethod) -> Option<Self> {
        Self::new(false, branch, b"", None, method)
    }

    /// The same transaction's branch and sent-by with another method (the INVITE a CANCEL
    /// cancels).
    fn with_method(&self, method: &KeyMethod) -> Self {
        let (code, tail) = method.code();
        let text = self.text.as_bytes();
        Self {
            slot: None,
            server: self.server,
            method: code,
            port: self.port,
            branch_len: self.branch_len,
            host_end: self.host_end,
            // the host is lower-cased already
            text: KeyText::new(
                text.get(..usize::from(self.host_end)).unwrap_or_default(),
                b"",
                tail,
            ),
        }
    }
}

/// Configuration of a [`Transactions`] endpoint.
#[derive(Clone, Debug)]
pub struct TransactionConfig {
    /// T1, T2, T4 and friends.
    pub timers: TimerConfig,
    /// Most live transactions; beyond it new requests get a stateless 503 and
    /// [`Transactions::send_request`] fails.
    pub max_transactions: usize,
    /// Answer merged requests (RFC 3261 §8.2.2.2) with 482 Loop Detected. Right for a UA,
    /// wrong for a proxy.
    pub reject_merged: bool,
    /// Requests larger than this many bytes that are to go over UDP are sent over TCP
    /// instead, with the top Via changed to match (RFC 3261 §18.1.1: "larger than 1300
    /// bytes and the path MTU is unknown"). `None` never switches.
    pub udp_size_limit: Option<usize>,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            max_transactions: 100_000,
            reject_merged: true,
            udp_size_limit: Some(1300),
        }
    }
}

/// What the transaction layer tells the transaction user.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// A new request created server transaction `key`; answer with
    /// [`Transactions::send_response`].
    Request {
        /// The server transaction.
        key: TransactionKey,
        /// The request, its top Via stamped with `received`/`rport` (RFC 3261 §18.2.1).
        request: Request,
        /// Where it came from.
        source: Target,
    },
    /// A CANCEL created server transaction `key` (RFC 3261 §9.2). `invite` is the INVITE
    /// server transaction it cancels, if one matches: the TU answers the CANCEL with 200
    /// and, if the INVITE has no final response yet, the INVITE with 487. Without a match
    /// the TU answers 481.
    Cancel {
        /// The CANCEL's server transaction.
        key: TransactionKey,
        /// The CANCEL.
        request: Request,
        /// Where it came from.
        source: Target,
        /// The matching INVITE server transaction.
        invite: Option<TransactionKey>,
    },
    /// An ACK for a 2xx (RFC 3261 §13.3.1.4, RFC 6026 §7.1): `key` is the INVITE server
    /// transaction when it is still in Accepted, `None` when it matched none.
    Ack {
        /// The INVITE server transaction, if still alive.
        key: Option<TransactionKey>,
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Target,
    },
    /// A response for client transaction `key`.
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The response.
        response: Response,
    },
    /// A response that matched no client transaction, for the core (RFC 3261 §17.1.3);
    /// typically a 2xx retransmission after Accepted ended, which the UAC must still ACK.
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Target,
    },
    /// Transaction `key` ended.
    Terminated {
        /// The transaction.
        key: TransactionKey,
        /// Why: Normal, Timeout (the TU acts as on a 408), NoAck, TransportError.
        reason: Termination,
    },
}

/// Misuse of [`Transactions`] by the caller (never caused by network input).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The request has no top Via with an RFC 3261 branch (`z9hG4bK...`), or no CSeq.
    #[error("request needs a top via with a z9hG4bK branch and a cseq")]
    MissingBranch,
    /// A transaction with this key already exists (branch reused).
    #[error("a transaction with this branch already exists")]
    Duplicate,
    /// ACK is not sent in a transaction: use [`Transactions::send_stateless`].
    #[error("ack is sent without a transaction")]
    AckNotTransactional,
    /// No live transaction has this key.
    #[error("no such transaction")]
    NoSuchTransaction,
    /// The transaction is in a state where this response is not allowed.
    #[error("response not allowed in transaction state {0:?}")]
    InvalidState(State),
    /// `max_transactions` reached.
    #[error("transaction limit of {limit} reached")]
    TooManyTransactions {
        /// The limit.
        limit: usize,
    },
}

/// All transactions of one endpoint (RFC 3261 §17), sans-IO.
///
/// Feed it received messages ([`handle_message`](Self::handle_message)), timer expiries
/// ([`handle_timeout`](Self::handle_timeout)), transport failures and the TU's requests and
/// responses; drain [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event) until both return `None` after every call, then sleep
/// until [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// # use telox_sip_core::transaction::{Transactions, TransactionConfig};
/// let mut txns = Transactions::new(TransactionConfig::default());
/// // after each handle_*/send_* call:
/// while let Some(t) = txns.poll_transmit() { /* socket.send_to(&t.payload, t.destination) */ }
/// while let Some(e) = txns.poll_event() { /* hand to the dialog / UA layer */ }
/// let _sleep_until = txns.poll_timeout();
/// ```
#[derive(Debug)]
pub struct Transactions {
    config: TransactionConfig,
    slots: Vec<Slot<Entry>>,
    free: Vec<usize>,
    /// The transactions that only wait for their end timer, each in a small record
    /// ([`Waiting`]) rather than a slab entry: a transaction moves here when its machine
    /// enters such a state ([`Machine::take_waiter`]), so that the thousands waiting for
    /// Timer K or J hold ~200 bytes each and the slab keeps only the few that still send.
    /// Named by their index with [`WAITING`] set in `index`, `collided`, `merge` and the
    /// deadline queue.
    waits: Vec<Slot<Waiting>>,
    waits_free: Vec<usize>,
    /// Slot of each live transaction (a [`WAITING`] record's index for a waiting one) by the
    /// keyed hash of its key (computed once per message with `hasher`); the slot's entry
    /// holds the key, compared on every hit.
    index: HashMap<u64, usize, PreHashed>,
    /// Keys whose hash equals a live key's hash: with a keyed 64-bit hash this practically
    /// never happens, and it keeps matching exact when it does.
    collided: HashMap<TransactionKey, usize>,
    hasher: KeyedState,
    /// Every key hashes to this value (tests of the collision path).
    #[cfg(test)]
    force_hash: Option<u64>,
    /// (From tag, Call-ID, CSeq) of server transactions for requests without To tag, for
    /// merged-request detection (RFC 3261 §8.2.2.2).
    /// Keyed by a hash of (From tag, Call-ID, CSeq, method) under `hasher`'s random keys
    /// (not hashed again by the map), so a live transaction holds 16 bytes for it; the value
    /// is the slot.
    merge: HashMap<u64, usize, PreHashed>,
    timers: Deadlines,
    transmits: VecDeque<Transmit>,
    /// The TU's events in order, each a small [`Queued`]; the messages they carry wait in
    /// `requests` and `responses` (a `TransactionEvent` is ~560 bytes, moved once on the way
    /// in and once on the way out, and two of a transaction's four events are `Terminated`).
    events: VecDeque<Queued>,
    requests: VecDeque<Request>,
    responses: VecDeque<Response>,
    live: usize,
    /// Peers that refused TCP for a size-switched request, until when their large requests
    /// go over UDP at once (no connect attempt per request). At most [`MAX_UDP_ONLY`].
    udp_only: HashMap<SocketAddr, Instant>,
    /// A source IPv4 address and a Via sent-by host (at most 15 bytes) found to be that
    /// address, so that the next request from it with the same sent-by and no `rport`
    /// needs no stamp without reading the host again ([`Transactions::needs_stamp`]).
    sent_by_seen: Option<(Ipv4Addr, [u8; 15], u8)>,
    /// The start of the last top Via read in a received request, so that the next one from
    /// the same peer is read from its branch on (see [`ViaMemo`]).
    via_memo: ViaMemo,
}

/// A queued [`TransactionEvent`] without its message, which waits in
/// [`Transactions::requests`] or [`Transactions::responses`] (the events that carry one take
/// the front message of their queue).
#[derive(Debug)]
enum Queued {
    Request {
        key: TransactionKey,
        source: Target,
    },
    /// `invite`: the CANCEL matched a live INVITE server transaction (whose key is `key`
    /// with the method INVITE), decided when the CANCEL arrived.
    Cancel {
        key: TransactionKey,
        source: Target,
        invite: bool,
    },
    Ack {
        key: Option<TransactionKey>,
        source: Target,
    },
    Response {
        key: TransactionKey,
    },
    StrayResponse {
        source: Target,
    },
    Terminated {
        key: TransactionKey,
        reason: Termination,
    },
}

/// How long a peer that refused TCP gets large requests over UDP without trying TCP.
const UDP_ONLY_FOR: std::time::Duration = std::time::Duration::from_secs(300);
/// Most peers remembered as refusing TCP.
const MAX_UDP_ONLY: usize = 1024;

/// A transaction's place in the slab (or a waiting record's in `waits`). The entry is held
/// inline (not boxed): starting a transaction then makes no allocator call once the slab
/// has grown to its working size.
#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    entry: Option<T>,
}

/// Set in a slot number that names a record of [`Transactions::waits`], not the slab.
const WAITING: usize = 1 << (usize::BITS - 1);

/// The index in [`Transactions::waits`] named by `slot`, if it names one.
fn waiting(slot: usize) -> Option<usize> {
    (slot & WAITING != 0).then_some(slot & !WAITING)
}

/// A transaction that only waits for its end timer: its key, where it resends to, its
/// merged-request key and the [`Waiter`] (state, end timer, the bytes it resends).
#[derive(Debug)]
struct Waiting {
    key: TransactionKey,
    /// The keyed hash of `key` (the index key).
    hash: u64,
    peer: Target,
    merge_key: Option<u64>,
    waiter: Waiter,
}

#[derive(Debug)]
struct Entry {
    key: TransactionKey,
    /// The keyed hash of `key` (the index key).
    hash: u64,
    machine: Machine,
    /// Where requests go (client) or responses go (server).
    peer: Target,
    /// The encoded INVITE (client: to build the ACK; server: to build 100 Trying), parsed
    /// again when needed so a live transaction holds no header index.
    invite: Option<Bytes>,
    merge_key: Option<u64>,
    /// The deadline last pushed to the deadline queue.
    scheduled: Option<Instant>,
    /// A client request moved from UDP to TCP for its size: the request as it was for UDP,
    /// resent over UDP if the TCP connection fails before any response (RFC 3261 §18.1.1).
    udp_fallback: Option<Bytes>,
    /// Client: where the value of the request's first Via line lies in the request the
    /// machine keeps ([`Machine::sent_request`]), as (start, length): a response whose first
    /// Via line is the same bytes is matched without a scan of its Via
    /// ([`Transactions::match_response`]). `[0, 0]` when not known: a server, a line past
    /// 64 KiB, a request resent over UDP after TCP failed.
    via: [u16; 2],
}

impl Entry {
    /// Drops what only the request's sending needed once the machine waits for its end
    /// timer (it drops its own copy, [`Machine::enter`]): the INVITE (the ACK of a non-2xx
    /// is built, a CANCEL or 487 no longer applies), the UDP fallback (no response-less
    /// request is left to move) and the Via range into the released request. Stray
    /// responses still match by key (a scan of their Via).
    fn shed(&mut self) {
        self.invite = None;
        self.udp_fallback = None;
        self.via = [0, 0];
    }

    /// The value of the first Via line of the request this client transaction sent.
    fn sent_via(&self) -> Option<&[u8]> {
        let [start, len] = self.via.map(usize::from);
        if len == 0 {
            return None;
        }
        self.machine.sent_request()?.get(start..start + len)
    }
}

impl Transactions {
    /// An endpoint with no transactions.
    pub fn new(config: TransactionConfig) -> Self {
        Self {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            waits: Vec::new(),
            waits_free: Vec::new(),
            index: HashMap::default(),
            collided: HashMap::new(),
            hasher: KeyedState::new(),
            #[cfg(test)]
            force_hash: None,
            merge: HashMap::default(),
            timers: Deadlines::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            requests: VecDeque::new(),
            responses: VecDeque::new(),
            live: 0,
            udp_only: HashMap::new(),
            sent_by_seen: None,
            via_memo: ViaMemo::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The state of a live transaction.
    pub fn state(&self, key: &TransactionKey) -> Option<State> {
        let slot = self.find_key(key)?;
        match waiting(slot) {
            Some(w) => self.waiting(w).map(|r| r.waiter.state()),
            None => self
                .slots
                .get(slot)?
                .entry
                .as_ref()
                .map(|e| e.machine.state()),
        }
    }

    /// The INVITE of a live INVITE transaction until its final response (to build a CANCEL,
    /// RFC 3261 §9.1, or a 487); `None` once it waits for its end timer.
    pub fn invite(&self, key: &TransactionKey) -> Option<Request> {
        self.entry(key)
            .and_then(|e| Request::parse(e.invite.clone()?).ok())
    }

    /// Starts a client transaction for `request` (which carries its own top Via with a fresh
    /// `z9hG4bK` branch) and queues its first transmission to `target`. A UDP request above
    /// [`TransactionConfig::udp_size_limit`] goes over TCP instead (RFC 3261 §18.1.1); its
    /// [`Transmit`]s then say [`Transport::Tcp`]. Not to a peer that refused TCP for such a
    /// request in the last 5 minutes (see [`Transactions::handle_peer_error`]): that one gets
    /// it over UDP at once.
    ///
    /// # Errors
    /// [`TransactionError::MissingBranch`], [`TransactionError::Duplicate`],
    /// [`TransactionError::AckNotTransactional`], [`TransactionError::TooManyTransactions`].
    pub fn send_request(
        &mut self,
        now: Instant,
        mut request: Request,
        mut target: Target,
    ) -> Result<TransactionKey, TransactionError> {
        if *request.method() == Method::Ack {
            return Err(TransactionError::AckNotTransactional);
        }
        // RFC 3261 §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is
        // larger than 1300 bytes and the path MTU is unknown, the request MUST be sent using
        // an RFC 2914 congestion controlled transport protocol, such as TCP. If this causes a
        // change in the transport protocol from the one indicated in the top Via, the value
        // in the top Via MUST be changed."
        let mut udp_fallback = None;
        let mut encoded = request.to_bytes();
        if target.transport == Transport::Udp
            && self
                .config
                .udp_size_limit
                .is_some_and(|limit| encoded.len() > limit)
            && self
                .udp_only
                .get(&target.addr)
                .is_none_or(|until| *until <= now)
            && let Some(switched) = wire::with_via_transport(&request, Transport::Tcp)
        {
            request = switched;
            udp_fallback = Some(std::mem::replace(&mut encoded, request.to_bytes()));
            target.transport = Transport::Tcp;
        }
        let facts = wire::request_facts(&request).ok_or(TransactionError::MissingBranch)?;
        if !facts.rfc3261 {
            return Err(TransactionError::MissingBranch);
        }
        let key =
            TransactionKey::for_request(false, &facts).ok_or(TransactionError::MissingBranch)?;
        let kind = if facts.key_method == KeyMethod::Invite {
            Kind::InviteClient
        } else {
            Kind::NonInviteClient
        };
        let hash = self.key_hash(&key);
        if self.find(hash, &key).is_some() {
            return Err(TransactionError::Duplicate);
        }
        if self.live >= self.config.max_transactions {
            return Err(TransactionError::TooManyTransactions {
                limit: self.config.max_transactions,
            });
        }
        let via = wire::offset_in(&encoded, facts.via_line)
            .and_then(|at| {
                Some([
                    u16::try_from(at).ok()?,
                    u16::try_from(facts.via_line.len()).ok()?,
                ])
            })
            .unwrap_or_default();
        let (machine, out) = Machine::new_client(
            kind,
            now,
            &self.config.timers,
            target.transport.is_reliable(),
            encoded,
        );
        let invite = (kind == Kind::InviteClient).then(|| request.to_bytes());
        let entry = Entry {
            key: key.clone(),
            hash,
            machine,
            peer: target,
            invite,
            merge_key: None,
            scheduled: None,
            udp_fallback,
            via,
        };
        let slot = self.insert(entry);
        let key = self.hinted(key, slot);
        self.apply(now, slot, out);
        Ok(key)
    }

    /// Sends `response` on server transaction `key` (RFC 3261 §17.2), routed per §18.2.2.
    ///
    /// # Errors
    /// [`TransactionError::NoSuchTransaction`], [`TransactionError::InvalidState`] (a second
    /// final response, or a non-2xx after a 2xx).
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        let slot = self
            .find_key(key)
            .ok_or(TransactionError::NoSuchTransaction)?;
        let timers = self.config.timers;
        let status = response.status().as_u16();
        let out = if let Some(w) = waiting(slot) {
            self.waiting(w)
                .ok_or(TransactionError::NoSuchTransaction)?
                .waiter
                .send_response(status, response.to_bytes())
        } else {
            self.slot_entry_mut(slot)
                .ok_or(TransactionError::NoSuchTransaction)?
                .machine
                .send_response(now, &timers, status, response.to_bytes())
        }
        .map_err(|e| TransactionError::InvalidState(e.state))?;
        self.apply(now, slot, out);
        Ok(())
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (RFC 3261 §13.2.2.4), a
    /// 2xx retransmission by the UAS core (§13.3.1.4), or a stateless response.
    pub fn send_stateless(&mut self, target: Target, payload: Bytes) {
        self.transmits.push_back(Transmit {
            transport: target.transport,
            destination: target.addr,
            payload,
            own_connection: false,
        });
    }

    /// A message arrived from `from` (RFC 3261 §17.1.3, §17.2.3, §18.1.2, §18.2.1).
    ///
    /// Requests missing the headers transactions need are answered 400 when they can be
    /// (a parseable top Via), otherwise dropped; responses that cannot be matched go to the
    /// core as [`TransactionEvent::StrayResponse`].
    pub fn handle_message(&mut self, now: Instant, from: Target, message: Message) {
        match message {
            Message::Request(r) => self.handle_request(now, from, r),
            Message::Response(r) => self.handle_response(now, from, r),
        }
    }

    /// Parses and handles one datagram (or one framed stream message). Unparseable bytes are
    /// dropped (RFC 3261 §18.3 lets a server discard them); returns whether it parsed.
    pub fn handle_datagram(&mut self, now: Instant, from: Target, bytes: Bytes) -> bool {
        match Message::parse(bytes) {
            Ok(Message::Request(r)) => self.handle_request(now, from, r),
            Ok(Message::Response(r)) => self.handle_response(now, from, r),
            Err(_) => return false,
        }
        true
    }

    /// The transport could not deliver for transaction `key` (RFC 3261 §17.1.4, §17.2.4):
    /// the transaction ends and the TU gets `Terminated { reason: TransportError }`.
    pub fn handle_transport_error(&mut self, now: Instant, key: &TransactionKey) {
        let Some(slot) = self.find_key(key) else {
            return;
        };
        let out = if waiting(slot).is_some() {
            Output {
                terminated: Some(Termination::TransportError),
                ..Output::default()
            }
        } else if let Some(entry) = self.slot_entry_mut(slot) {
            entry.machine.on_transport_error()
        } else {
            return;
        };
        self.apply(now, slot, out);
    }

    /// The transport could not deliver to `peer` at all (connection refused, TLS handshake
    /// or certificate failure, connection lost): every live transaction whose messages go to
    /// `peer` ends as by [`Transactions::handle_transport_error`] (RFC 3261 §17.1.4, §18.4).
    ///
    /// Except, per RFC 3261 §18.1.1 ("if the attempt to establish the connection generates
    /// either an ICMP Protocol Not Supported, or results in a TCP reset, the element SHOULD
    /// retry the request, using UDP"), a client request that went over TCP only because of
    /// [`TransactionConfig::udp_size_limit`] and has had no response: it starts again over
    /// UDP with its original top Via, as a new first transmission (retransmissions and
    /// Timer B/F from `now`).
    pub fn handle_peer_error(&mut self, now: Instant, peer: Target) {
        let keys: Vec<TransactionKey> = self
            .slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|e| e.peer == peer)
            .map(|e| e.key.clone())
            .chain(
                self.waits
                    .iter()
                    .filter_map(|s| s.entry.as_ref())
                    .filter(|r| r.peer == peer)
                    .map(|r| r.key.clone()),
            )
            .collect();
        for key in keys {
            if !self.fall_back_to_udp(now, &key) {
                self.handle_transport_error(now, &key);
            }
        }
    }

    /// Restarts size-switched client transaction `key` over UDP (see
    /// [`Transactions::handle_peer_error`]); false when it is not one, or has had a response.
    fn fall_back_to_udp(&mut self, now: Instant, key: &TransactionKey) -> bool {
        let Some(slot) = self.find_key(key) else {
            return false;
        };
        let timers = self.config.timers;
        let Some(entry) = self.slot_entry_mut(slot) else {
            return false;
        };
        if !matches!(entry.machine.state(), State::Calling | State::Trying) {
            return false;
        }
        let Some(request) = entry.udp_fallback.take() else {
            return false;
        };
        let kind = entry.machine.kind();
        let (machine, out) = Machine::new_client(kind, now, &timers, false, request.clone());
        entry.machine = machine;
        entry.peer.transport = Transport::Udp;
        // the UDP request's Via is not where the TCP one's was measured
        entry.via = [0, 0];
        if entry.invite.is_some() {
            entry.invite = Some(request);
        }
        let addr = entry.peer.addr;
        self.apply(now, slot, out);
        // Its next large requests skip the TCP attempt for a while.
        if self.udp_only.len() >= MAX_UDP_ONLY {
            self.udp_only.retain(|_, until| *until > now);
        }
        if self.udp_only.len() < MAX_UDP_ONLY {
            self.udp_only.insert(addr, now + UDP_ONLY_FOR);
        }
        true
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, slot, generation)) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(w) = waiting(slot) {
                if self.record_waits_for(w, generation, at) {
                    let end = Output {
                        terminated: Some(Termination::Normal),
                        ..Output::default()
                    };
                    self.apply(now, slot, end);
                }
                continue;
            }
            let Some(s) = self.slots.get_mut(slot) else {
                continue;
            };
            if s.generation != generation {
                continue;
            }
            let Some(entry) = s.entry.as_mut() else {
                continue;
            };
            if entry.scheduled != Some(at) {
                continue;
            }
            entry.scheduled = None;
            let out = entry.machine.on_timeout(now, &self.config.timers);
            self.apply(now, slot, out);
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        // Each arm builds the event in the return slot: a loop with an `Option` local copied
        // the 560 bytes once more, and a loop returning from each arm cost ~26 instructions
        // more per call than this tail call (callgrind, sip_txn staged). Only `push_request`
        // and `push_response` queue an event that carries a message, each with its message,
        // so the message is there and the recursion is never taken; were it not, the event
        // would be skipped.
        match self.events.pop_front()? {
            Queued::Request { key, source } => match self.requests.pop_front() {
                Some(request) => Some(TransactionEvent::Request {
                    key,
                    request,
                    source,
                }),
                None => self.poll_event(),
            },
            Queued::Cancel {
                key,
                source,
                invite,
            } => match self.requests.pop_front() {
                Some(request) => Some(TransactionEvent::Cancel {
                    invite: invite.then(|| key.with_method(&KeyMethod::Invite)),
                    key,
                    request,
                    source,
                }),
                None => self.poll_event(),
            },
            Queued::Ack { key, source } => match self.requests.pop_front() {
                Some(request) => Some(TransactionEvent::Ack {
                    key,
                    request,
                    source,
                }),
                None => self.poll_event(),
            },
            Queued::Response { key } => match self.responses.pop_front() {
                Some(response) => Some(TransactionEvent::Response { key, response }),
                None => self.poll_event(),
            },
            Queued::StrayResponse { source } => match self.responses.pop_front() {
                Some(response) => Some(TransactionEvent::StrayResponse { response, source }),
                None => self.poll_event(),
            },
            Queued::Terminated { key, reason } => {
                Some(TransactionEvent::Terminated { key, reason })
            }
        }
    }

    /// Queues a request event for the TU: the small part in order, the request beside it.
    fn push_request(&mut self, event: Queued, request: Request) {
        self.requests.push_back(request);
        self.events.push_back(event);
    }

    /// Queues a response event for the TU (see [`Transactions::push_request`]).
    fn push_response(&mut self, event: Queued, response: Response) {
        self.responses.push_back(response);
        self.events.push_back(event);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the earliest armed
    /// timer of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|(at, _, _)| at)
    }

    fn handle_request(&mut self, now: Instant, from: Target, mut request: Request) {
        // `request` is stamped in place (no rebinding): a Request is ~500 bytes to copy.
        let Some(facts) = wire::server_request_facts(&request, &mut self.via_memo) else {
            if let Some(bytes) = wire::stateless_response(&request, 400) {
                self.send_stateless(from, bytes);
            }
            return;
        };
        let Some(key) = TransactionKey::for_request(true, &facts) else {
            return;
        };
        let stamp = self.needs_stamp(&facts, from.addr);
        let hash = self.key_hash(&key);
        if let Some(slot) = self.find(hash, &key) {
            drop(facts);
            if stamp {
                request = wire::stamp_via(request, from.addr);
            }
            let is_ack = *request.method() == Method::Ack;
            let timers = self.config.timers;
            let out = if let Some(w) = waiting(slot) {
                let Some(record) = self.waiting(w) else {
                    return;
                };
                if is_ack {
                    record.waiter.on_ack()
                } else {
                    record.waiter.on_request_retransmit()
                }
            } else {
                let Some(entry) = self.slot_entry_mut(slot) else {
                    return;
                };
                if is_ack {
                    entry.machine.on_ack(now, &timers)
                } else {
                    entry.machine.on_request_retransmit()
                }
            };
            if out.to_tu {
                let event = if is_ack {
                    Queued::Ack {
                        key: Some(key),
                        source: from,
                    }
                } else {
                    Queued::Request { key, source: from }
                };
                self.push_request(event, request);
            }
            self.apply(now, slot, out);
            return;
        }
        match request.method() {
            Method::Ack => {
                drop(facts);
                if stamp {
                    request = wire::stamp_via(request, from.addr);
                }
                self.push_request(
                    Queued::Ack {
                        key: None,
                        source: from,
                    },
                    request,
                );
                return;
            }
            _ if self.live >= self.config.max_transactions => {
                // RFC 3261 §21.5.4: 503 when the server is temporarily overloaded.
                if let Some(bytes) = wire::stateless_response(&request, 503) {
                    self.send_stateless(from, bytes);
                }
                return;
            }
            _ => {}
        }
        // RFC 3261 §8.2.2.2: "If the request has no tag in the To header field, the UAS core
        // MUST check the request against ongoing transactions. If the From tag, Call-ID, and
        // CSeq exactly match those associated with an ongoing transaction, but the request
        // does not match that transaction (based on the matching rules in Section 17.2.3),
        // the UAS core SHOULD generate a 482 (Loop Detected) response".
        let merge_key = (self.config.reject_merged
            && facts.to_tag.is_none()
            && facts.key_method != KeyMethod::Cancel)
            .then(|| {
                self.hasher.hash_one((
                    facts.from_tag.unwrap_or_default(),
                    facts.call_id,
                    facts.cseq,
                    &facts.key_method,
                ))
            });
        if let Some(mk) = merge_key
            && self.merge.contains_key(&mk)
        {
            if let Some(bytes) = wire::stateless_response(&request, 482) {
                self.send_stateless(from, bytes);
            }
            return;
        }
        let kind = if facts.key_method == KeyMethod::Invite {
            Kind::InviteServer
        } else {
            Kind::NonInviteServer
        };
        let is_cancel = facts.key_method == KeyMethod::Cancel;
        // RFC 3261 §18.2.2: on a reliable transport the response goes back over the
        // connection the request came on, whatever the Via says (no rport needed).
        let addr = if from.transport.is_reliable() {
            from.addr
        } else {
            wire::response_destination(&facts, from.addr)
        };
        drop(facts);
        if stamp {
            request = wire::stamp_via(request, from.addr);
        }
        let (machine, out) =
            Machine::new_server(kind, now, &self.config.timers, from.transport.is_reliable());
        let peer = Target {
            transport: from.transport,
            addr,
        };
        let invite = (kind == Kind::InviteServer).then(|| request.to_bytes());
        let entry = Entry {
            key: key.clone(),
            hash,
            machine,
            peer,
            invite,
            merge_key,
            scheduled: None,
            udp_fallback: None,
            via: [0, 0],
        };
        let slot = self.insert(entry);
        let key = self.hinted(key, slot);
        if let Some(mk) = merge_key {
            self.merge.insert(mk, slot);
        }
        // Events are built in the queue, not moved through `apply`: a request is large.
        if out.to_tu {
            if is_cancel {
                // RFC 3261 §9.2: the CANCEL matches the INVITE server transaction with the
                // same branch and sent-by (the §17.2.3 rules with the method INVITE).
                let invite_key = key.with_method(&KeyMethod::Invite);
                let invite = self.find(self.key_hash(&invite_key), &invite_key).is_some();
                self.push_request(
                    Queued::Cancel {
                        key,
                        source: from,
                        invite,
                    },
                    request,
                );
            } else {
                self.push_request(Queued::Request { key, source: from }, request);
            }
        }
        self.apply(now, slot, out);
    }

    fn handle_response(&mut self, now: Instant, from: Target, response: Response) {
        let Some((key, slot)) = self.match_response(&response) else {
            self.push_response(Queued::StrayResponse { source: from }, response);
            return;
        };
        let timers = self.config.timers;
        let status = response.status().as_u16();
        if let Some(w) = waiting(slot) {
            let Some(record) = self.waiting(w) else {
                return;
            };
            let out = record.waiter.on_response(status);
            if out.to_tu {
                self.push_response(Queued::Response { key }, response);
            }
            self.apply(now, slot, out);
            return;
        }
        let Some(entry) = self.slot_entry_mut(slot) else {
            return;
        };
        let mut out = entry.machine.on_response(now, &timers, status);
        if out.build_ack {
            out.build_ack = false;
            if let Some(ack) = entry
                .invite
                .clone()
                .and_then(|inv| Request::parse(inv).ok())
                .and_then(|inv| wire::build_ack(&inv, &response))
            {
                out.transmit = Some(entry.machine.set_ack(ack));
            }
        }
        if out.to_tu {
            self.push_response(Queued::Response { key }, response);
        }
        self.apply(now, slot, out);
    }

    /// The key and slot of the client transaction `response` belongs to (RFC 3261 §17.1.3:
    /// the branch of the top Via and the CSeq method).
    ///
    /// The branch is first found by a search for `;branch=` ([`wire::quick_response_key`]).
    /// When that finds a transaction whose request carried the same first Via line, byte for
    /// byte (what a server echoes, RFC 3261 §8.2.6.2, unless it stamps `received`/`rport`),
    /// the scan of the Via that reads the branch would read that request's Via, whose branch
    /// is the transaction's (the key was taken from that scan, or from the builder that wrote
    /// the Via, which agrees with it: `built_branch_agrees_with_the_via_scan`): the scan
    /// (~500 instructions) is skipped. Otherwise the branch is scanned as always.
    fn match_response(&self, response: &Response) -> Option<(TransactionKey, usize)> {
        if let Some((key, via)) = wire::quick_response_key(response)
            && let Some(slot) = self.find(self.key_hash(&key), &key)
        {
            // A waiting record keeps no request, so no Via to compare with.
            if self
                .slots
                .get(slot)
                .and_then(|s| s.entry.as_ref())
                .is_some_and(|e| e.sent_via() == Some(via))
            {
                return Some((key, slot));
            }
            // A changed Via (a stamp, another branch param): the scan's branch decides; when
            // it is the one found, so is the transaction.
            if wire::via_branch(via) == Some(key.branch_bytes()) {
                return Some((key, slot));
            }
        }
        let key = wire::response_key(response)?;
        let slot = self.find(self.key_hash(&key), &key)?;
        Some((key, slot))
    }

    /// [`wire::needs_stamp`], which depends on `rport`, the sent-by host's bytes and the
    /// source address only: a request from the last IPv4 source whose sent-by host was found
    /// to be that address, with the same host and no `rport`, needs no stamp (a peer sends
    /// many requests; reading its dotted quad again cost ~150 instructions per request).
    fn needs_stamp(&mut self, facts: &RequestFacts<'_>, source: SocketAddr) -> bool {
        let IpAddr::V4(ip) = source.ip() else {
            return wire::needs_stamp(facts, source);
        };
        if !facts.rport
            && !facts.received
            && let Some((seen, host, len)) = &self.sent_by_seen
            && *seen == ip
            && host.get(..usize::from(*len)) == Some(facts.sent_by_host)
        {
            return false;
        }
        let stamp = wire::needs_stamp(facts, source);
        if !stamp {
            let mut host = [0; 15];
            if let Some(h) = host.get_mut(..facts.sent_by_host.len()) {
                h.copy_from_slice(facts.sent_by_host);
                // at most 15: the slice above
                self.sent_by_seen = Some((ip, host, facts.sent_by_host.len() as u8));
            }
        }
        stamp
    }

    /// Carries out a machine's [`Output`]: transmissions, termination and the deadline queue
    /// (the caller queues the TU event itself when `out.to_tu`, so a message is not moved
    /// through here).
    fn apply(&mut self, now: Instant, slot: usize, out: Output) {
        match waiting(slot) {
            Some(w) => self.apply_waiting(w, out),
            None => self.apply_inner(now, slot, out),
        }
        self.prune();
    }

    /// [`Transactions::apply`] for a waiting record: a [`Waiter`] only resends or ends.
    fn apply_waiting(&mut self, w: usize, out: Output) {
        if let Some(payload) = out.transmit
            && let Some(record) = self.waiting(w)
        {
            let peer = record.peer;
            self.transmits.push_back(Transmit {
                transport: peer.transport,
                destination: peer.addr,
                payload,
                own_connection: false,
            });
        }
        if let Some(reason) = out.terminated {
            self.end_waiting(w, reason);
        }
    }

    fn apply_inner(&mut self, now: Instant, slot: usize, out: Output) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let generation = s.generation;
        let Some(entry) = s.entry.as_mut() else {
            return;
        };
        if out.send_trying
            && let Some(bytes) = entry
                .invite
                .clone()
                .and_then(|inv| Request::parse(inv).ok())
                .and_then(|inv| wire::stateless_response(&inv, 100))
        {
            entry.machine.set_trying(bytes.clone());
            self.transmits.push_back(Transmit {
                transport: entry.peer.transport,
                destination: entry.peer.addr,
                payload: bytes,
                own_connection: false,
            });
        }
        if let Some(payload) = out.transmit {
            self.transmits.push_back(Transmit {
                transport: entry.peer.transport,
                destination: entry.peer.addr,
                payload,
                own_connection: entry.udp_fallback.is_some(),
            });
        }
        if entry.machine.is_waiting() {
            entry.shed();
        }
        if let Some(reason) = out.terminated {
            if let Some(key) = self.remove(slot) {
                self.events.push_back(Queued::Terminated { key, reason });
            }
            return;
        }
        // A wait timer already due (D, I, J, K are zero on a reliable transport, RFC 3261
        // §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2) ends the transaction now rather than
        // through the deadline queue and the next `handle_timeout`; so does an earliest
        // wait timer that the caller's `now` passed without a `handle_timeout`, as that call
        // would. L and M are 64*T1 on every transport (RFC 6026), so Accepted is not cut
        // short. A wait timer is armed only in the state it ends: this recurses at most once.
        if let Some((at, timer)) = entry.machine.next_timer()
            && at <= now
            && !timer.is_retransmit()
        {
            let out = entry.machine.on_timeout(now, &self.config.timers);
            self.apply_inner(now, slot, out);
            return;
        }
        if let Some(waiter) = entry.machine.take_waiter() {
            self.compact(slot, waiter);
            return;
        }
        let next = entry.machine.next_timer();
        if next.map(|(at, _)| at) != entry.scheduled {
            entry.scheduled = None;
            if let Some((at, timer)) = next {
                let run = (timer, entry.machine.interval_of(timer));
                self.timers.push(run, (at.max(now), slot, generation));
                entry.scheduled = Some(at.max(now));
            }
        }
    }

    /// Pops cancelled or rescheduled deadlines off the front of the deadline queue so that
    /// [`poll_timeout`](Self::poll_timeout) is exact.
    fn prune(&mut self) {
        while let Some((at, slot, generation)) = self.timers.peek() {
            let live = match waiting(slot) {
                Some(w) => self.record_waits_for(w, generation, at),
                None => self.slots.get(slot).is_some_and(|s| {
                    s.generation == generation
                        && s.entry.as_ref().is_some_and(|e| e.scheduled == Some(at))
                }),
            };
            if live {
                break;
            }
            self.timers.pop();
        }
    }

    fn insert(&mut self, entry: Entry) -> usize {
        self.live += 1;
        let hash = entry.hash;
        let slot = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    s.entry = Some(entry);
                }
                i
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: Some(entry),
                });
                self.slots.len() - 1
            }
        };
        match self.index.entry(hash) {
            hash_map::Entry::Vacant(v) => {
                v.insert(slot);
            }
            hash_map::Entry::Occupied(_) => {
                if let Some(key) = self
                    .slots
                    .get(slot)
                    .and_then(|s| s.entry.as_ref())
                    .map(|e| e.key.clone())
                {
                    self.collided.insert(key, slot);
                }
            }
        }
        slot
    }

    /// The keyed hash of `key`, the index key.
    fn key_hash(&self, key: &TransactionKey) -> u64 {
        #[cfg(test)]
        if let Some(h) = self.force_hash {
            return h;
        }
        self.hasher.hash_one(key)
    }

    /// The slot of the live transaction with `key` (`hash` is its keyed hash).
    fn find(&self, hash: u64, key: &TransactionKey) -> Option<usize> {
        if let Some(&slot) = self.index.get(&hash)
            && self.key_at(slot) == Some(key)
        {
            return Some(slot);
        }
        if self.collided.is_empty() {
            return None;
        }
        self.collided.get(key).copied()
    }

    /// The key of the transaction in `slot` (a slab slot or a [`WAITING`] record).
    fn key_at(&self, slot: usize) -> Option<&TransactionKey> {
        match waiting(slot) {
            Some(w) => self.waiting(w).map(|r| &r.key),
            None => self.slots.get(slot)?.entry.as_ref().map(|e| &e.key),
        }
    }

    /// The slot of the live transaction with `key`: the key's slot hint when it holds this
    /// key, else the index.
    fn find_key(&self, key: &TransactionKey) -> Option<usize> {
        if let Some((slot, generation)) = key.slot
            && let Some(s) = self.slots.get(slot as usize)
            && s.generation == generation
            && s.entry.as_ref().is_some_and(|e| e.key == *key)
        {
            return Some(slot as usize);
        }
        self.find(self.key_hash(key), key)
    }

    /// `key` with the hint to `slot` (see [`TransactionKey`]'s `slot`).
    fn hinted(&self, mut key: TransactionKey, slot: usize) -> TransactionKey {
        key.slot = u32::try_from(slot)
            .ok()
            .zip(self.slots.get(slot).map(|s| s.generation));
        key
    }

    /// Removes the transaction in `slot` and returns its key. The entry is dropped where it
    /// is: taking it out of the slot copied the whole entry twice (callgrind: two `memcpy`
    /// calls of ~62 instructions per removal); only the key is moved out.
    fn remove(&mut self, slot: usize) -> Option<TransactionKey> {
        let s = self.slots.get_mut(slot)?;
        let entry = s.entry.as_mut()?;
        let (hash, merge_key) = (entry.hash, entry.merge_key);
        let key = std::mem::replace(&mut entry.key, TransactionKey::VACANT);
        s.entry = None;
        s.generation = s.generation.wrapping_add(1);
        self.live -= 1;
        self.unindex(slot, hash, merge_key, &key);
        self.free.push(slot);
        Some(key)
    }

    /// Takes `slot` (a slab slot or a [`WAITING`] record) out of the index, the collided
    /// keys and the merged-request table.
    fn unindex(&mut self, slot: usize, hash: u64, merge_key: Option<u64>, key: &TransactionKey) {
        // One lookup each: the entry API, not a get then a remove.
        match self.index.entry(hash) {
            hash_map::Entry::Occupied(o) if *o.get() == slot => {
                o.remove();
            }
            _ => {
                self.collided.remove(key);
            }
        }
        if let Some(mk) = merge_key
            && let hash_map::Entry::Occupied(o) = self.merge.entry(mk)
            && *o.get() == slot
        {
            o.remove();
        }
    }

    /// Moves the transaction in `slot`, whose machine gave `waiter`, to a waiting record
    /// and frees its slot; its end timer goes to the deadline queue under the record. The
    /// entry is dropped in place (see [`Transactions::remove`]).
    fn compact(&mut self, slot: usize, waiter: Waiter) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let Some(entry) = s.entry.as_mut() else {
            return;
        };
        let key = std::mem::replace(&mut entry.key, TransactionKey::VACANT);
        let (hash, peer, merge_key) = (entry.hash, entry.peer, entry.merge_key);
        s.entry = None;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        let w = self.waits_free.pop().unwrap_or(self.waits.len());
        let named = WAITING | w;
        // The index, collided keys and merged-request table name the record from now on.
        match self.index.get_mut(&hash) {
            Some(at) if *at == slot => *at = named,
            _ => {
                if let Some(at) = self.collided.get_mut(&key) {
                    *at = named;
                }
            }
        }
        if let Some(mk) = merge_key
            && let Some(at) = self.merge.get_mut(&mk)
            && *at == slot
        {
            *at = named;
        }
        let (deadline, timer) = waiter.end_timer();
        let record = Waiting {
            key,
            hash,
            peer,
            merge_key,
            waiter,
        };
        let generation = match self.waits.get_mut(w) {
            Some(s) => {
                s.entry = Some(record);
                s.generation
            }
            None => {
                self.waits.push(Slot {
                    generation: 0,
                    entry: Some(record),
                });
                0
            }
        };
        // The wait timer is later than the caller's `now`: a due one ended the machine in
        // `apply_inner` before it got here.
        self.timers.push(
            (timer, std::time::Duration::ZERO),
            (deadline, named, generation),
        );
    }

    /// Ends waiting record `w` and queues its `Terminated` event.
    fn end_waiting(&mut self, w: usize, reason: Termination) {
        let Some(s) = self.waits.get_mut(w) else {
            return;
        };
        let Some(record) = s.entry.as_mut() else {
            return;
        };
        let (hash, merge_key) = (record.hash, record.merge_key);
        let key = std::mem::replace(&mut record.key, TransactionKey::VACANT);
        s.entry = None;
        s.generation = s.generation.wrapping_add(1);
        self.live -= 1;
        self.unindex(WAITING | w, hash, merge_key, &key);
        self.waits_free.push(w);
        self.events.push_back(Queued::Terminated { key, reason });
    }

    /// Whether waiting record `w` of `generation` still waits for the end timer at `at`: a
    /// record's end timer is pushed once and never moves, so the generation tells whether
    /// this record is the one it was pushed for.
    fn record_waits_for(&self, w: usize, generation: u32, at: Instant) -> bool {
        self.waits.get(w).is_some_and(|s| {
            s.generation == generation
                && s.entry
                    .as_ref()
                    .is_some_and(|r| r.waiter.end_timer().0 == at)
        })
    }

    /// Waiting record `w`.
    fn waiting(&self, w: usize) -> Option<&Waiting> {
        self.waits.get(w)?.entry.as_ref()
    }

    fn entry(&self, key: &TransactionKey) -> Option<&Entry> {
        let slot = self.find_key(key)?;
        self.slots.get(slot)?.entry.as_ref()
    }

    fn slot_entry_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot)?.entry.as_mut()
    }
}

/// The keyed hash of the transaction index and the merged-request table: the folded
/// multiply of foldhash and ahash (64x64 -> 128-bit product, halves XORed), 16 bytes per
/// step, with two secret 64-bit keys drawn from the std `RandomState` once per endpoint.
///
/// SipHash cost ~1,700 instructions per transaction here (four keys hashed). This is not a
/// cryptographic PRF, but the keys are secret and a collision only costs time: the index
/// compares the full key on every hit and sends colliding keys to `collided`, a SipHash map,
/// so matching stays exact whatever an attacker sends.
#[derive(Clone, Copy, Debug)]
struct KeyedState {
    seed: u64,
    mul: u64,
}

/// Digits of pi: a fixed odd constant mixed into every step.
const PI: u64 = 0x243f_6a88_85a3_08d3;

impl KeyedState {
    fn new() -> Self {
        let keys = RandomState::new();
        Self {
            seed: keys.hash_one(0x5eed_u64),
            mul: keys.hash_one(0x0f01_d5ed_u64) | 1,
        }
    }
}

impl std::hash::BuildHasher for KeyedState {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            acc: self.seed,
            mul: self.mul,
        }
    }
}

/// The state of one [`KeyedState`] hash.
struct KeyedHasher {
    acc: u64,
    mul: u64,
}

/// The folded multiply: both halves of the 128-bit product, XORed.
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The little-endian word of the first 8 bytes (0 if there are fewer).
fn word8(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The little-endian word of the first 4 bytes (0 if there are fewer).
fn word4(bytes: &[u8]) -> u64 {
    bytes
        .get(..4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
}

/// Two words that together cover every byte of a tail of at most 15 bytes, read as whole
/// (possibly overlapping) loads rather than copied byte by byte into a padded buffer.
fn tail_words(tail: &[u8]) -> (u64, u64) {
    let n = tail.len();
    if n >= 8 {
        (word8(tail), word8(tail.get(n - 8..).unwrap_or_default()))
    } else if n >= 4 {
        (word4(tail), word4(tail.get(n - 4..).unwrap_or_default()))
    } else if let (Some(&a), Some(&b), Some(&c)) = (tail.first(), tail.get(n / 2), tail.last()) {
        (u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16, 0)
    } else {
        (0, 0)
    }
}

impl Hasher for KeyedHasher {
    fn finish(&self) -> u64 {
        fold(self.acc, self.mul.rotate_left(29) ^ PI)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(16);
        for chunk in &mut chunks {
            let (a, b) = chunk.split_at(8);
            self.acc = fold(self.acc ^ word8(a), self.mul ^ word8(b));
        }
        let (a, b) = tail_words(chunks.remainder());
        // The length goes in so that padding and overlapping reads cannot make two inputs
        // equal.
        self.acc = fold(
            self.acc ^ a ^ (bytes.len() as u64).rotate_left(56),
            self.mul ^ b ^ PI,
        );
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.acc = fold(self.acc ^ n, self.mul ^ PI);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Hashes a `u64` that already is a keyed hash (of a [`TransactionKey`] or of the
/// merged-request fields) to itself: hashing it again would only cost time.
type PreHashed = BuildHasherDefault<Identity>;

#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps above; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::disallowed_methods, reason = "virtual clock origin")]
    fn origin() -> Instant {
        Instant::now()
    }

    /// The peer at 127.0.0.1:5062 over `transport`.
    fn peer(transport: Transport) -> Target {
        Target {
            transport,
            addr: SocketAddr::from(([127, 0, 0, 1], 5062)),
        }
    }

    fn options(branch: &str) -> Request {
        let text = format!(
            "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5061;branch={branch}\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\n\
             To: <sip:b@127.0.0.1>\r\n\
             Call-ID: {branch}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// A UDP request from 127.0.0.1:5061 (`method` OPTIONS or INVITE).
    fn udp_request(method: &str, branch: &str) -> Request {
        let text = format!(
            "{method} sip:b@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5061;branch={branch}\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\n\
             To: <sip:b@127.0.0.1>\r\n\
             Call-ID: {branch}\r\n\
             CSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// The client at 127.0.0.1:5061 over UDP, where the server's responses go.
    fn client_udp() -> Target {
        Target {
            transport: Transport::Udp,
            addr: SocketAddr::from(([127, 0, 0, 1], 5061)),
        }
    }

    /// Live slab entries and waiting records.
    fn held(t: &Transactions) -> (usize, usize) {
        (
            t.slots.iter().filter(|s| s.entry.is_some()).count(),
            t.waits.iter().filter(|s| s.entry.is_some()).count(),
        )
    }

    /// Everything queued: transmitted payloads and events.
    fn drained(t: &mut Transactions) -> (Vec<Bytes>, Vec<TransactionEvent>) {
        let tx = std::iter::from_fn(|| t.poll_transmit().map(|t| t.payload)).collect();
        (tx, std::iter::from_fn(|| t.poll_event()).collect())
    }

    /// A client and a server that have done `method` over UDP up to the final response
    /// `status`: (client, server, client key, server key, request bytes, response bytes,
    /// what the client sent on the response).
    fn finished(
        t0: Instant,
        method: &str,
        status: crate::msg::StatusCode,
    ) -> (
        Transactions,
        Transactions,
        TransactionKey,
        TransactionKey,
        Bytes,
        Bytes,
        Vec<Bytes>,
    ) {
        let to_server = peer(Transport::Udp);
        let to_client = client_udp();
        let mut client = Transactions::new(TransactionConfig::default());
        let mut server = Transactions::new(TransactionConfig::default());
        let ck = client
            .send_request(t0, udp_request(method, "z9hG4bK-w"), to_server)
            .unwrap_or_else(|e| panic!("{e}"));
        let (tx, _) = drained(&mut client);
        let sent = tx.first().cloned().unwrap_or_else(|| panic!("sent"));
        assert!(server.handle_datagram(t0, to_client, sent.clone()));
        let (sk, request) = match server.poll_event() {
            Some(TransactionEvent::Request { key, request, .. }) => (key, request),
            other => panic!("{other:?}"),
        };
        let response = Response::builder(&request, status).to_tag("s").build();
        assert_eq!(server.send_response(t0, &sk, response), Ok(()));
        let (tx, _) = drained(&mut server);
        let answer = tx.first().cloned().unwrap_or_else(|| panic!("answered"));
        assert!(client.handle_datagram(t0, to_server, answer.clone()));
        let (acks, ev) = drained(&mut client);
        assert!(
            matches!(ev.as_slice(), [TransactionEvent::Response { key, .. }] if *key == ck),
            "{ev:?}"
        );
        (client, server, ck, sk, sent, answer, acks)
    }

    /// A non-INVITE transaction that waits for Timer K (client) or J (server) is held in a
    /// waiting record, its slab slot freed, and absorbs retransmissions as its machine
    /// would: the server resends its final response for a retransmitted request (RFC 3261
    /// §17.2.2) without an event, the client takes a retransmitted final response without
    /// an event (no stray response for the core, §17.1.2.2) and sends nothing; K and J end
    /// them at their exact instants, after which the request starts a new transaction.
    #[test]
    fn waiting_records_absorb_non_invite_retransmissions() {
        let (t0, s) = (origin(), std::time::Duration::from_secs);
        let (to_server, to_client) = (peer(Transport::Udp), client_udp());
        let (mut client, mut server, ck, sk, sent, answer, _) =
            finished(t0, "OPTIONS", crate::msg::StatusCode::OK);
        assert_eq!((held(&client), held(&server)), ((0, 1), (0, 1)));
        assert_eq!(client.state(&ck), Some(State::Completed));
        assert_eq!(server.state(&sk), Some(State::Completed));
        assert_eq!((client.len(), server.len()), (1, 1));
        // The retransmitted request gets the same response again.
        assert!(server.handle_datagram(t0 + s(1), to_client, sent.clone()));
        let (tx, ev) = drained(&mut server);
        assert_eq!(tx, vec![answer.clone()]);
        assert!(ev.is_empty(), "{ev:?}");
        // A second final response is refused.
        let again = Response::builder(
            &udp_request("OPTIONS", "z9hG4bK-w"),
            crate::msg::StatusCode::OK,
        )
        .build();
        assert_eq!(
            server.send_response(t0 + s(1), &sk, again),
            Err(TransactionError::InvalidState(State::Completed))
        );
        // The retransmitted response is absorbed.
        assert!(client.handle_datagram(t0 + s(1), to_server, answer.clone()));
        let (tx, ev) = drained(&mut client);
        assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
        // Timer K: T4 = 5 s; Timer J: 64*T1 = 32 s.
        assert_eq!(client.poll_timeout(), Some(t0 + s(5)));
        client.handle_timeout(t0 + s(5) - std::time::Duration::from_nanos(1));
        assert!(client.poll_event().is_none());
        client.handle_timeout(t0 + s(5));
        let (_, ev) = drained(&mut client);
        assert!(
            matches!(ev.as_slice(), [TransactionEvent::Terminated { key, reason: Termination::Normal }] if *key == ck),
            "{ev:?}"
        );
        assert_eq!(server.poll_timeout(), Some(t0 + s(32)));
        server.handle_timeout(t0 + s(32));
        let (_, ev) = drained(&mut server);
        assert!(
            matches!(ev.as_slice(), [TransactionEvent::Terminated { key, reason: Termination::Normal }] if *key == sk),
            "{ev:?}"
        );
        for t in [&client, &server] {
            assert!(t.is_empty() && t.index.is_empty() && t.poll_timeout().is_none());
            assert_eq!(held(t), (0, 0));
        }
        // After J the request is new again: a fresh transaction and event.
        assert!(server.handle_datagram(t0 + s(33), to_client, sent));
        assert!(matches!(
            server.poll_event(),
            Some(TransactionEvent::Request { .. })
        ));
        assert_eq!(held(&server), (1, 0));
    }

    #[test]
    fn invite_client_without_ack_resends_nothing_when_waiting() {
        // A 486 without To: it matches and completes the INVITE client, but no ACK can be
        // built for it, so a retransmission of it must not send an empty datagram (rv13).
        let (t0, s) = (origin(), std::time::Duration::from_secs);
        let to_server = peer(Transport::Udp);
        let mut client = Transactions::new(TransactionConfig::default());
        client
            .send_request(t0, udp_request("INVITE", "z9hG4bK-na"), to_server)
            .unwrap_or_else(|e| panic!("{e}"));
        drained(&mut client);
        let busy = Bytes::from_static(
            b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-na\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\nCall-ID: z9hG4bK-na\r\nCSeq: 1 INVITE\r\n\
             Content-Length: 0\r\n\r\n",
        );
        assert!(client.handle_datagram(t0 + s(1), to_server, busy.clone()));
        let (tx, _) = drained(&mut client);
        assert!(tx.is_empty(), "{tx:?}");
        assert_eq!(held(&client), (0, 1));
        assert!(client.handle_datagram(t0 + s(2), to_server, busy));
        let (tx, ev) = drained(&mut client);
        assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
    }

    #[test]
    fn poll_timeout_is_exact_after_a_waiting_record_ends() {
        // OPTIONS answered at once waits for Timer K (5 s); an INVITE retransmitted at 0.5,
        // 1.5 and 3.5 s and answered with a 486 at 4 s waits for Timer D (36 s). After K the
        // next deadline is D, not the INVITE's cancelled Timer A (7.5 s) left in the queue.
        let (t0, ms) = (origin(), std::time::Duration::from_millis);
        let to_server = peer(Transport::Udp);
        let mut client = Transactions::new(TransactionConfig::default());
        let options = client
            .send_request(t0, udp_request("OPTIONS", "z9hG4bK-ko"), to_server)
            .unwrap_or_else(|e| panic!("{e}"));
        client
            .send_request(t0, udp_request("INVITE", "z9hG4bK-ki"), to_server)
            .unwrap_or_else(|e| panic!("{e}"));
        drained(&mut client);
        let ok = Bytes::from_static(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-ko\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\nTo: <sip:b@127.0.0.1>;tag=s\r\n\
             Call-ID: z9hG4bK-ko\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(client.handle_datagram(t0, to_server, ok));
        for at in [500, 1500, 3500] {
            client.handle_timeout(t0 + ms(at));
        }
        let busy = Bytes::from_static(
            b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-ki\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\nTo: <sip:b@127.0.0.1>;tag=s\r\n\
             Call-ID: z9hG4bK-ki\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(client.handle_datagram(t0 + ms(4000), to_server, busy));
        drained(&mut client);
        assert_eq!(client.poll_timeout(), Some(t0 + ms(5000)));
        client.handle_timeout(t0 + ms(5000));
        assert_eq!(client.state(&options), None);
        assert_eq!(client.poll_timeout(), Some(t0 + ms(36_000)));
    }

    /// INVITE transactions in waiting records: a client in Completed resends its ACK for a
    /// retransmitted non-2xx and passes nothing up (RFC 3261 §17.1.1.2); a client in
    /// Accepted passes 2xx retransmissions up and drops anything else (RFC 6026 §8.4); a
    /// server in Accepted passes the ACK up with its key and lets the TU resend its 2xx
    /// (§7.1, §8.7), a server in Confirmed absorbs ACKs and INVITEs. A transport error ends
    /// a record at once.
    #[test]
    fn waiting_records_absorb_invite_retransmissions() {
        use crate::msg::StatusCode;
        let (t0, s) = (origin(), std::time::Duration::from_secs);
        let (to_server, to_client) = (peer(Transport::Udp), client_udp());
        // 486: client Completed, server Completed (Timer G: stays in the slab) until the ACK.
        let (mut client, mut server, ck, sk, sent, answer, acks) =
            finished(t0, "INVITE", StatusCode::BUSY_HERE);
        assert_eq!((held(&client), held(&server)), ((0, 1), (1, 0)));
        assert_eq!(acks.len(), 1);
        assert!(client.handle_datagram(t0 + s(1), to_server, answer.clone()));
        let (tx, ev) = drained(&mut client);
        assert_eq!(tx, acks);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(client.poll_timeout(), Some(t0 + s(32)));
        for ack in &acks {
            assert!(server.handle_datagram(t0 + s(1), to_client, ack.clone()));
        }
        assert_eq!(server.state(&sk), Some(State::Confirmed));
        assert_eq!(held(&server), (0, 1));
        for again in [acks[0].clone(), sent.clone()] {
            assert!(server.handle_datagram(t0 + s(2), to_client, again));
            let (tx, ev) = drained(&mut server);
            assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
        }
        // Timer I: T4 after the ACK.
        assert_eq!(server.poll_timeout(), Some(t0 + s(6)));
        client.handle_transport_error(t0 + s(2), &ck);
        let (_, ev) = drained(&mut client);
        assert!(
            matches!(
                ev.as_slice(),
                [TransactionEvent::Terminated {
                    reason: Termination::TransportError,
                    ..
                }]
            ),
            "{ev:?}"
        );
        assert!(client.is_empty() && client.poll_timeout().is_none());

        // 200: both in Accepted.
        let (mut client, mut server, ck, sk, sent, answer, _) =
            finished(t0, "INVITE", StatusCode::OK);
        assert_eq!((held(&client), held(&server)), ((0, 1), (0, 1)));
        assert!(client.handle_datagram(t0 + s(1), to_server, answer.clone()));
        let (tx, ev) = drained(&mut client);
        assert!(tx.is_empty());
        assert!(
            matches!(ev.as_slice(), [TransactionEvent::Response { key, .. }] if *key == ck),
            "{ev:?}"
        );
        let request = Request::parse(sent.clone()).unwrap_or_else(|e| panic!("{e:?}"));
        let ringing = Response::builder(&request, StatusCode::RINGING).build();
        assert!(client.handle_datagram(t0 + s(1), to_server, ringing.to_bytes()));
        let (tx, ev) = drained(&mut client);
        assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
        // the TU resends its 2xx through the transaction; a non-2xx is refused
        let ok = Response::builder(&request, StatusCode::OK)
            .to_tag("s")
            .build();
        assert_eq!(server.send_response(t0 + s(1), &sk, ok.clone()), Ok(()));
        assert_eq!(drained(&mut server).0, vec![ok.to_bytes()]);
        let busy = Response::builder(&request, StatusCode::BUSY_HERE).build();
        assert_eq!(
            server.send_response(t0 + s(1), &sk, busy),
            Err(TransactionError::InvalidState(State::Accepted))
        );
        // an INVITE retransmission is absorbed; the ACK for the 2xx goes up with the key
        assert!(server.handle_datagram(t0 + s(2), to_client, sent));
        let (tx, ev) = drained(&mut server);
        assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
        let ack = Bytes::from_static(
            b"ACK sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-w\r\n\
             From: <sip:a@127.0.0.1>;tag=t\r\nTo: <sip:b@127.0.0.1>;tag=s\r\n\
             Call-ID: z9hG4bK-w\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(server.handle_datagram(t0 + s(2), to_client, ack));
        let (_, ev) = drained(&mut server);
        assert!(
            matches!(ev.as_slice(), [TransactionEvent::Ack { key: Some(key), .. }] if *key == sk),
            "{ev:?}"
        );
        // Timers L and M: 64*T1.
        for t in [&mut client, &mut server] {
            assert_eq!(t.poll_timeout(), Some(t0 + s(32)));
            t.handle_timeout(t0 + s(32));
            let (_, ev) = drained(t);
            assert!(
                matches!(
                    ev.as_slice(),
                    [TransactionEvent::Terminated {
                        reason: Termination::Normal,
                        ..
                    }]
                ),
                "{ev:?}"
            );
            assert!(t.is_empty() && t.index.is_empty() && t.merge.is_empty());
        }
    }

    /// A key's slot hint is only a shortcut: a stale one (the slot reused by another
    /// transaction) or a wrong one is checked against the whole key, and a key without one
    /// is found through the index.
    #[test]
    fn slot_hints_are_checked_against_the_key() {
        let t0 = origin();
        let peer = peer(Transport::Tcp);
        let mut server = Transactions::new(TransactionConfig::default());
        let request = |server: &mut Transactions, branch: &str| {
            assert!(server.handle_datagram(t0, peer, options(branch).to_bytes()));
            match server.poll_event() {
                Some(TransactionEvent::Request { key, request, .. }) => (key, request),
                other => panic!("{other:?}"),
            }
        };
        let (k1, r1) = request(&mut server, "z9hG4bK1");
        let ok = |r: &Request| Response::builder(r, crate::msg::StatusCode::OK).build();
        assert_eq!(server.send_response(t0, &k1, ok(&r1)), Ok(()));
        // TCP: timer J is zero, the transaction ends with its response
        assert!(matches!(
            server.poll_event(),
            Some(TransactionEvent::Terminated { .. })
        ));
        assert!(server.is_empty());
        let (k2, r2) = request(&mut server, "z9hG4bK2");
        assert_eq!(k1.slot.map(|s| s.0), k2.slot.map(|s| s.0), "slot reused");
        assert_eq!(
            server.send_response(t0, &k1, ok(&r1)),
            Err(TransactionError::NoSuchTransaction)
        );
        let mut wrong = k1.clone();
        wrong.slot = k2.slot;
        assert_eq!(server.state(&wrong), None);
        let mut bare = k2.clone();
        bare.slot = None;
        assert_eq!(bare, k2);
        assert_eq!(server.state(&bare), Some(State::Trying));
        assert_eq!(server.send_response(t0, &bare, ok(&r2)), Ok(()));
    }

    /// Every method part makes another key, an extension method's name included (inline
    /// and in a text too long to be inline); the name and sent-by read back; the CANCEL's
    /// key with the method INVITE is the INVITE's key, hash included.
    #[test]
    fn keys_tell_methods_apart() {
        let mut methods = vec![KeyMethod::Invite, KeyMethod::Cancel];
        for m in [
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "OPTIONS",
            "REGISTER",
            "PRACK",
            "SUBSCRIBE",
            "NOTIFY",
            "PUBLISH",
            "INFO",
            "REFER",
            "MESSAGE",
            "UPDATE",
            "FOO",
            "FOOX",
            "AN-EXTENSION-METHOD-TOO-LONG-FOR-THE-INLINE-TEXT",
        ] {
            let m = Method::from_token(m.as_bytes()).unwrap_or_else(|| panic!("{m}"));
            methods.push(KeyMethod::Other(m));
        }
        let key = |m: &KeyMethod| {
            TransactionKey::new(true, b"z9hG4bK1", b"Host.Example", Some(5060), m)
                .unwrap_or_else(|| panic!("{m:?}"))
        };
        let keys: Vec<TransactionKey> = methods.iter().map(key).collect();
        let hasher = KeyedState::new();
        for (i, a) in keys.iter().enumerate() {
            let name = match &methods[i] {
                KeyMethod::Invite => "INVITE",
                KeyMethod::Cancel => "CANCEL",
                KeyMethod::Other(m) => m.as_str(),
            };
            assert_eq!(a.method_name(), name);
            assert_eq!((a.branch(), a.sent_by_host()), ("z9hG4bK1", "host.example"));
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(i == j, a == b, "{a:?} {b:?}");
            }
            let invite = a.with_method(&KeyMethod::Invite);
            assert_eq!(invite, keys[0]);
            assert_eq!(hasher.hash_one(&invite), hasher.hash_one(&keys[0]));
            assert_eq!(keys[0].with_method(&methods[i]), *a);
        }
        // a client key has no sent-by
        let client = TransactionKey::client(b"z9hG4bK1", &methods[16]).unwrap_or_else(|| panic!());
        assert_eq!((client.sent_by_host(), client.method_name()), ("", "FOO"));
    }

    /// Keys whose texts are the same bytes but split differently (branch | host | extension
    /// method name) are different keys: the split points are part of the identity.
    #[test]
    fn keys_split_differently_are_not_equal() {
        let foo = |name: &str| {
            KeyMethod::Other(Method::from_token(name.as_bytes()).unwrap_or_else(|| panic!()))
        };
        let key = |branch: &[u8], host: &[u8], m: &KeyMethod| {
            TransactionKey::new(true, branch, host, Some(5060), m).unwrap_or_else(|| panic!())
        };
        let hasher = KeyedState::new();
        let pairs = [
            // branch / host split
            (
                key(b"z9hG4bKab", b"c", &KeyMethod::Invite),
                key(b"z9hG4bKa", b"bc", &KeyMethod::Invite),
            ),
            // host / extension method split (host_end)
            (
                key(b"z9hG4bK1", b"ab", &foo("cX")),
                key(b"z9hG4bK1", b"abc", &foo("X")),
            ),
            // both at once, the text too long to be inline
            (
                key(&[b'z'; 40], b"host.example", &foo("xY")),
                key(&[b'z'; 40], b"host.examplex", &foo("Y")),
            ),
        ];
        for (a, b) in &pairs {
            assert_eq!(a.text.as_bytes(), b.text.as_bytes());
            assert_ne!(a, b, "{a:?} {b:?}");
            assert_ne!(hasher.hash_one(a), hasher.hash_one(b));
            let mut index = HashMap::with_hasher(KeyedState::new());
            index.insert(a.clone(), 1);
            assert_eq!(index.get(b), None);
            assert_eq!(index.get(a), Some(&1));
        }
    }

    /// A key is 72 bytes and a queued event 128 at most: moving one is then copied inline,
    /// not by a `memcpy` call (four queued events per transaction). A waiting record is 200
    /// bytes in its slot, against 360 for a slab slot (x86-64).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn keys_and_queued_events_stay_small() {
        assert!(size_of::<TransactionKey>() <= 72);
        assert!(size_of::<Queued>() <= 128);
        assert!(size_of::<Slot<Waiting>>() <= 200);
    }

    /// The index hash depends on every byte and on the length (zero padding of the last
    /// word cannot make two inputs equal), and on the endpoint's secret keys.
    #[test]
    fn keyed_hash_depends_on_every_byte_length_and_keys() {
        let hash = |state: &KeyedState, bytes: &[u8]| {
            let mut h = state.build_hasher();
            h.write(bytes);
            h.finish()
        };
        let (a, b) = (KeyedState::new(), KeyedState::new());
        let key = *b"z9hG4bK0000000000000001127.0.0.1:5061x";
        let base = hash(&a, &key);
        assert_eq!(base, hash(&a, &key));
        assert_ne!(base, hash(&b, &key));
        for i in 0..key.len() {
            let mut k = key;
            if let Some(c) = k.get_mut(i) {
                *c ^= 1;
            }
            assert_ne!(base, hash(&a, &k), "byte {i}");
        }
        for n in 0..33 {
            assert_ne!(
                hash(&a, &[0; 40][..n]),
                hash(&a, &[0; 40][..n + 1]),
                "length {n}"
            );
        }
    }

    /// Keys whose hashes collide still match exactly (the `collided` map), whichever
    /// transaction ends first.
    #[test]
    fn colliding_key_hashes_still_match_exactly() {
        let t0 = origin();
        let peer = peer(Transport::Tcp);
        for first_ends_first in [true, false] {
            let mut client = Transactions::new(TransactionConfig::default());
            client.force_hash = Some(7);
            let k1 = client.send_request(t0, options("z9hG4bK1"), peer);
            let k2 = client.send_request(t0, options("z9hG4bK2"), peer);
            let (Ok(k1), Ok(k2)) = (k1, k2) else {
                panic!("both sent");
            };
            assert_eq!(client.collided.len(), 1);
            assert_eq!(
                client.send_request(t0, options("z9hG4bK2"), peer),
                Err(TransactionError::Duplicate)
            );
            while client.poll_transmit().is_some() {}
            let (a, b) = if first_ends_first {
                (&k1, &k2)
            } else {
                (&k2, &k1)
            };
            for key in [a, b] {
                let req = options(key.branch());
                let resp = Response::builder(&req, crate::msg::StatusCode::OK).build();
                assert!(client.handle_datagram(t0, peer, resp.to_bytes()));
                let mut responded = None;
                let mut ended = None;
                while let Some(e) = client.poll_event() {
                    match e {
                        TransactionEvent::Response { key, .. } => responded = Some(key),
                        TransactionEvent::Terminated { key, .. } => ended = Some(key),
                        other => panic!("{other:?}"),
                    }
                }
                // TCP: timer K is zero, so the transaction ends at the next timeout.
                client.handle_timeout(t0);
                while let Some(e) = client.poll_event() {
                    if let TransactionEvent::Terminated { key, .. } = e {
                        ended = Some(key);
                    }
                }
                assert_eq!(responded.as_ref(), Some(key));
                assert_eq!(ended.as_ref(), Some(key));
                assert_eq!(client.state(key), None);
            }
            assert!(client.is_empty() && client.index.is_empty() && client.collided.is_empty());
        }
    }

    /// `match_response` skips the Via scan only when the response's first Via line is the
    /// one its transaction sent; for any other line it answers what the scan gives: a
    /// stamped Via, a second `branch` (the scan reads the last), a `;branch=` in a quoted
    /// value or in a second Via value, another transport, a line the scan refuses, a branch
    /// no transaction has. Both ends of the table are checked against the scanned key.
    #[test]
    fn response_matching_agrees_with_the_via_scan() {
        let t0 = origin();
        let peer = peer(Transport::Udp);
        let mut client = Transactions::new(TransactionConfig::default());
        let sent = |branch: &str| format!("SIP/2.0/UDP 127.0.0.1:5061;branch={branch}");
        let mut keys = Vec::new();
        for branch in ["z9hG4bK-m1", "z9hG4bK-m2"] {
            let text = format!(
                "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: {}\r\nFrom: <sip:a@127.0.0.1>;tag=t\r\n\
                 To: <sip:b@127.0.0.1>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n",
                sent(branch)
            );
            let request = Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"));
            keys.push(
                client
                    .send_request(t0, request, peer)
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
        let slot_of = |k: &TransactionKey| client.find_key(k);
        let (m1, m2) = (slot_of(&keys[0]), slot_of(&keys[1]));
        assert!(m1.is_some() && m2.is_some() && m1 != m2);
        let cases: &[(String, Option<usize>)] = &[
            (sent("z9hG4bK-m1"), m1),
            (sent("z9hG4bK-m2"), m2),
            (
                format!("{};received=192.0.2.1;rport=5061", sent("z9hG4bK-m1")),
                m1,
            ),
            (format!("{};branch=z9hG4bK-m2", sent("z9hG4bK-m1")), m2),
            (
                "SIP/2.0/UDP 127.0.0.1:5061;x=\"a;branch=z9hG4bK-m1\";branch=z9hG4bK-m2".into(),
                m2,
            ),
            (
                format!(
                    "{}, SIP/2.0/UDP p.example;branch=z9hG4bK-m2",
                    sent("z9hG4bK-m1")
                ),
                m1,
            ),
            ("SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-m1".into(), m1),
            ("SIP/2.0/UDP 127.0.0.1:5061;BRANCH=z9hG4bK-m2".into(), m2),
            ("SIP/2.0/UDP 127.0.0.1:5061 ;branch=z9hG4bK-m1".into(), m1),
            ("SIP/2.0/UDP a\"b;branch=z9hG4bK-m1".into(), None),
            (sent("z9hG4bK-m3"), None),
            ("SIP/2.0/UDP 127.0.0.1:5061;branch=".into(), None),
            (
                "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-m1;branch=".into(),
                None,
            ),
        ];
        for (via, want) in cases {
            let text = format!(
                "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: <sip:a@127.0.0.1>;tag=t\r\n\
                 To: <sip:b@127.0.0.1>;tag=u\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n"
            );
            let response = Response::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"));
            let scanned = wire::response_key(&response)
                .and_then(|k| client.find(client.key_hash(&k), &k).map(|slot| (k, slot)));
            let matched = client.match_response(&response);
            assert_eq!(matched.as_ref().map(|m| m.1), *want, "{via}");
            assert_eq!(matched, scanned, "{via}");
        }
    }

    /// The earliest deadline of every live transaction, read from the transactions
    /// themselves (what [`Transactions::poll_timeout`] must answer).
    fn earliest_live(t: &Transactions) -> Option<Instant> {
        let slab = t.slots.iter().filter_map(|s| s.entry.as_ref()?.scheduled);
        let records = t
            .waits
            .iter()
            .filter_map(|s| Some(s.entry.as_ref()?.waiter.end_timer().0));
        slab.chain(records).min()
    }

    /// `poll_timeout` is the earliest live deadline after every call, whatever the mix:
    /// INVITE and OPTIONS clients and servers over UDP, messages lost or delivered late,
    /// provisional, 2xx and non-2xx answers or none, timers run at random instants (early,
    /// due, long past): the front of the deadline queue is never a cancelled or moved
    /// deadline (`Transactions::prune`). Fails when `apply` does not prune (tried), and when
    /// it prunes only a front that names another slot than the one it acted on (tried).
    #[test]
    fn poll_timeout_is_the_earliest_live_deadline_after_every_call() {
        use crate::msg::StatusCode;
        let t0 = origin();
        let to_server = peer(Transport::Udp);
        let to_client = client_udp();
        let mut client = Transactions::new(TransactionConfig::default());
        let mut server = Transactions::new(TransactionConfig::default());
        let mut now = t0;
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut wire_to_server: Vec<Bytes> = Vec::new();
        let mut wire_to_client: Vec<Bytes> = Vec::new();
        let mut asked: Vec<(TransactionKey, Request)> = Vec::new();
        let check = |t: &Transactions, step: usize| {
            assert_eq!(t.poll_timeout(), earliest_live(t), "step {step}");
        };
        for step in 0..3000 {
            match next() % 8 {
                0 => {
                    let method = if next() % 3 == 0 { "INVITE" } else { "OPTIONS" };
                    let branch = format!("z9hG4bK-p{step}");
                    client
                        .send_request(now, udp_request(method, &branch), to_server)
                        .unwrap_or_else(|e| panic!("{e}"));
                    check(&client, step);
                }
                1 | 2 => {
                    // a message each way, or lost
                    if !wire_to_server.is_empty() {
                        let m = wire_to_server.remove(next() as usize % wire_to_server.len());
                        if next() % 5 != 0 {
                            server.handle_datagram(now, to_client, m);
                            check(&server, step);
                        }
                    }
                    if !wire_to_client.is_empty() {
                        let m = wire_to_client.remove(next() as usize % wire_to_client.len());
                        if next() % 5 != 0 {
                            client.handle_datagram(now, to_server, m);
                            check(&client, step);
                        }
                    }
                }
                3 => {
                    if !asked.is_empty() {
                        let (key, request) = asked.remove(next() as usize % asked.len());
                        let status = match next() % 4 {
                            0 => StatusCode::RINGING,
                            1 => StatusCode::BUSY_HERE,
                            _ => StatusCode::OK,
                        };
                        let response = Response::builder(&request, status).to_tag("s").build();
                        if server.send_response(now, &key, response).is_ok()
                            && status.as_u16() < 200
                        {
                            asked.push((key, request));
                        }
                        check(&server, step);
                    }
                }
                4 => {
                    // a timer run at an instant early, due or long past
                    let to = match next() % 3 {
                        0 => now + std::time::Duration::from_millis(next() % 700),
                        1 => server
                            .poll_timeout()
                            .or(client.poll_timeout())
                            .unwrap_or(now),
                        _ => now + std::time::Duration::from_secs(next() % 40),
                    };
                    now = now.max(to);
                    client.handle_timeout(now);
                    check(&client, step);
                    server.handle_timeout(now);
                    check(&server, step);
                }
                _ => now += std::time::Duration::from_millis(next() % 300),
            }
            while let Some(t) = client.poll_transmit() {
                wire_to_server.push(t.payload);
            }
            while let Some(t) = server.poll_transmit() {
                wire_to_client.push(t.payload);
            }
            while let Some(e) = server.poll_event() {
                if let TransactionEvent::Request { key, request, .. } = e {
                    asked.push((key, request));
                }
            }
            while client.poll_event().is_some() {}
            check(&client, step);
            check(&server, step);
        }
    }

    /// The remembered sent-by ([`Transactions::needs_stamp`]) answers as
    /// [`wire::needs_stamp`] does, request after request: the same host from the same
    /// source, then `rport`, another source, another spelling of the address, a name, IPv6,
    /// the longest dotted quad.
    #[test]
    fn remembered_sent_by_answers_as_the_host_read() {
        let mut t = Transactions::new(TransactionConfig::default());
        let cases = [
            ("127.0.0.1", "", "127.0.0.1:5061", false),
            ("127.0.0.1", "", "127.0.0.1:5061", false),
            ("127.0.0.1", ";rport", "127.0.0.1:5061", true),
            ("127.0.0.1", "", "127.0.0.2:5061", true),
            ("127.0.0.1", "", "127.0.0.1:5099", false),
            ("127.000.0.1", "", "127.0.0.1:5061", true),
            ("127.0.0.10", "", "127.0.0.1:5061", true),
            ("127.0.0.1", "", "127.0.0.1:5061", false),
            ("host.example.com", "", "127.0.0.1:5061", true),
            ("255.255.255.255", "", "255.255.255.255:5061", false),
            ("255.255.255.255", "", "255.255.255.254:5061", true),
            ("255.255.255.255", "", "255.255.255.255:5061", false),
            ("[::1]", "", "[::1]:5061", false),
            ("[::1]", "", "127.0.0.1:5061", true),
            ("127.0.0.1", "", "[::1]:5061", true),
        ];
        for (host, params, source, want) in cases {
            let text = format!(
                "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {host}:5061;branch=z9hG4bK1{params}\r\n\
                 From: <sip:a@127.0.0.1>;tag=t\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c\r\n\
                 CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            );
            let request = Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"));
            let facts = wire::server_request_facts(&request, &mut ViaMemo::default())
                .unwrap_or_else(|| panic!("{host}"));
            let source: SocketAddr = source.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(wire::needs_stamp(&facts, source), want, "{host} {source}");
            assert_eq!(
                t.needs_stamp(&facts, source),
                want,
                "{host}{params} {source}"
            );
        }
    }
}
