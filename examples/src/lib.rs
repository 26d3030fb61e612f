//! The call glue that telox's example programs share (demo-call, phone, pbx, gateway and the
//! tools). Programs live in `src/bin/`; what two of them need goes here once.

#![forbid(unsafe_code)]

pub mod pcap;
