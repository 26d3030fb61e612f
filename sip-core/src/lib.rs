//! SIP for telox: messages, transactions, dialogs, digest authentication and registration.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.

#![forbid(unsafe_code)]

pub mod auth;
pub mod transaction;
pub mod registration;
