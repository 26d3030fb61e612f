//! A sans-IO DNS client for locating SIP servers (RFC 3263 §4): the wire format of the
//! queries and responses it needs (A, AAAA, SRV, NAPTR, with CNAME and SOA for chains and
//! negative caching), a TTL cache, and a [`Resolution`] that runs the RFC 3263 plan of
//! [`crate::locate`] over them.
//!
//! No sockets, clocks or randomness live here: the caller picks the query ID from its RNG,
//! sends the bytes, passes `now` in and feeds the responses back. The tokio feature's
//! `tokio::dns` module does that over UDP (TCP when a response is truncated).
//!
//! ```
//! use std::time::Instant;
//! use rand::SeedableRng;
//! use telox_sip_core::dns::{DnsCache, DnsMessage, IpFamilies, Resolution};
//! use telox_sip_core::locate::LocateConfig;
//! use telox_sip_core::Uri;
//!
//! let uri: Uri = "sip:alice@example.com;transport=udp".parse()?;
//! let mut cache = DnsCache::default();
//! let mut resolution = Resolution::new(&uri, &LocateConfig::default(), IpFamilies::V4)?;
//! let now = Instant::now();
//! while let Some(question) = resolution.poll_question(now, &cache) {
//!     let query = DnsMessage::query(0x1234 /* from your RNG */, &question.name, question.rtype);
//!     let _bytes = query.encode()?;
//!     // ... send, receive, then `DnsMessage::parse`, check `response.answers(&query)`:
//!     resolution.handle_failure(&question); // here: no server answered
//! }
//! // No SRV and no address records: nothing to try.
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! assert!(resolution.targets(&mut rng).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod resolution;
mod wire;

pub use resolution::{DnsCache, IpFamilies, Resolution};
pub use wire::{
    DnsError, DnsMessage, Flags, MAX_LABEL, MAX_NAME, MAX_POINTERS, Question, Rcode, Record,
    RecordData, RecordType,
};
