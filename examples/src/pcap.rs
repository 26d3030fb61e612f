//! Minimal pcap / pcapng reading and pcap writing for the tools (rtp-analyze, srtp-decrypt).
//!
//! Only what the tools need: Ethernet, Linux cooked (SLL, SLL2), raw IP and loopback (BSD
//! null) link types, IPv4/IPv6, UDP. Any input is safe: malformed captures produce an error or
//! skip the packet, never a panic.
