//! The serializer: RFC 8866 §5 order, CRLF line endings.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::attributes::Attributes;
use crate::model::{Bandwidth, Connection, Media, Sdp, Text};

impl Sdp {
    /// The number of bytes [`Sdp::write_to`] appends.
    pub fn encoded_len(&self) -> usize {
        let mut counter = Counter(0);
        self.emit(&mut counter);
        counter.0
    }

    /// Appends the description to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.emit(&mut Writer(out));
    }

    /// The description as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.emit(&mut Writer(&mut out));
        out.freeze()
    }

    fn emit(&self, w: &mut impl Sink) {
        w.put(b"v=0\r\n");
        let o = &self.origin;
        w.put(b"o=");
        w.text(&o.username);
        w.put(b" ");
        w.text(&o.session_id);
        w.put(b" ");
        w.num(o.session_version);
        w.put(b" ");
        w.text(&o.net_type);
        w.put(b" ");
        w.put(o.addr_type.as_str().as_bytes());
        w.put(b" ");
        w.text(&o.address);
        w.put(b"\r\n");
        line(w, b"s=", &self.session_name);
        let extra = self.extra();
        opt_line(w, b"i=", extra.information.as_ref());
        opt_line(w, b"u=", extra.uri.as_ref());
        for e in &extra.emails {
            line(w, b"e=", e);
        }
        for p in &extra.phones {
            line(w, b"p=", p);
        }
        if let Some(c) = &self.connection {
            connection(w, c);
        }
        for b in &extra.bandwidths {
            bandwidth(w, b);
        }
        for t in &self.times {
            w.put(b"t=");
            w.num(t.start);
            w.put(b" ");
            w.num(t.stop);
            w.put(b"\r\n");
            for r in &t.repeats {
                line(w, b"r=", r);
            }
        }
        opt_line(w, b"z=", extra.time_zones.as_ref());
        opt_line(w, b"k=", extra.key.as_ref());
        attributes(w, &self.attributes);
        for m in &self.media {
            media(w, m);
        }
    }
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

trait Sink {
    fn put(&mut self, b: &[u8]);
    fn text(&mut self, t: &Text) {
        self.put(t.as_bytes());
    }
    fn num(&mut self, n: u64) {
        self.put(crate::attr::decimal_digits(n, &mut [0; 20]));
    }
}

struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, b: &[u8]) {
        self.0 += b.len();
    }
}

struct Writer<'a>(&'a mut BytesMut);

impl Sink for Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        self.0.put_slice(b);
    }
}

fn line(w: &mut impl Sink, prefix: &[u8], t: &Text) {
    w.put(prefix);
    w.text(t);
    w.put(b"\r\n");
}

fn opt_line(w: &mut impl Sink, prefix: &[u8], t: Option<&Text>) {
    if let Some(t) = t {
        line(w, prefix, t);
    }
}

fn connection(w: &mut impl Sink, c: &Connection) {
    w.put(b"c=");
    w.text(&c.net_type);
    w.put(b" ");
    w.put(c.addr_type.as_str().as_bytes());
    w.put(b" ");
    w.text(&c.address);
    if let Some(ttl) = c.ttl {
        w.put(b"/");
        w.num(u64::from(ttl));
    }
    if let Some(n) = c.count {
        w.put(b"/");
        w.num(u64::from(n));
    }
    w.put(b"\r\n");
}

fn bandwidth(w: &mut impl Sink, b: &Bandwidth) {
    w.put(b"b=");
    w.text(&b.kind);
    w.put(b":");
    w.num(b.value);
    w.put(b"\r\n");
}

fn attributes(w: &mut impl Sink, list: &Attributes) {
    for l in list.lines() {
        w.put(b"a=");
        w.put(l);
        w.put(b"\r\n");
    }
}

fn media(w: &mut impl Sink, m: &Media) {
    w.put(b"m=");
    w.put(m.kind.as_str().as_bytes());
    w.put(b" ");
    w.num(u64::from(m.port));
    if let Some(n) = m.port_count {
        w.put(b"/");
        w.num(u64::from(n));
    }
    w.put(b" ");
    w.put(m.protocol.as_str().as_bytes());
    // A declined line read without a format (`ParseOptions::allow_declined_media_any_format`)
    // is written back as it came.
    if !m.format_list.as_str().is_empty() {
        w.put(b" ");
        w.text(&m.format_list);
    }
    w.put(b"\r\n");
    let extra = m.extra();
    opt_line(w, b"i=", extra.information.as_ref());
    for c in &m.connections {
        connection(w, c);
    }
    for b in &extra.bandwidths {
        bandwidth(w, b);
    }
    opt_line(w, b"k=", extra.key.as_ref());
    attributes(w, &m.attributes);
}
