//! Registration (RFC 3261 §10): the registrar core over a [`LocationStore`], and the
//! client that registers, refreshes and unregisters.

mod registrar;
mod retry;
mod service;

pub use registrar::{
    Binding, ContactEntry, Contacts, LocationStore, MemoryLocationStore, RegisterError,
    RegisterRequest, Registrar, RegistrarConfig, canonical_aor,
};
pub use retry::RegisterRetry;
pub use service::{RegisterOutcome, RegistrarService, SecretStore, register_request};
