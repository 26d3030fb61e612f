//! RFC 3261 §17 transactions with the RFC 6026 corrections.
//!
//! Two layers:
//! - [`Machine`]: one of the four state machines, message-agnostic (status codes in, bytes to
//!   retransmit and TU notifications out), every timer by its RFC letter ([`Timer`]);
//! - [`Transactions`]: all transactions of one endpoint in the sans-IO shape of STYLE.md §2,
//!   with the matching rules of §17.1.3 and §17.2.3.

mod endpoint;
#[doc(hidden)]
pub mod fuzzing;
mod machine;
mod timer;
mod wire;

pub use endpoint::{
    Target, TransactionConfig, TransactionError, TransactionEvent, TransactionKey, Transactions,
    Transmit, Transport,
};
pub use machine::{InvalidState, Kind, Machine, Output, State, Termination};
pub use timer::{Timer, TimerConfig};
