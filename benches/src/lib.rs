//! Criterion benches for telox live in `benches/`, one file per crate; peer crates compared
//! against are dev-dependencies here only, so they stay out of the library crates.

#![forbid(unsafe_code)]
