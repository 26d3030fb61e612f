//! How the buffer asks a codec for concealment. The codec crate does not depend on this one:
//! the glue implements [`Concealer`] for its decoder.

use crate::buffer::JitterBuffer;
use crate::playout::Concealment;

/// A decoder that can fill a gap: packet-loss concealment, and optionally recovery from the
/// in-band FEC of the next packet (Opus LBRR, RFC 6716 §2.1.7).
pub trait Concealer<P> {
    /// The decoder's error.
    type Error;

    /// Appends `ticks` of concealment (at the stream's RTP clock rate) to `out`, continuing
    /// the last decoded audio.
    ///
    /// # Errors
    /// Whatever the decoder reports.
    fn conceal(&mut self, ticks: u32, out: &mut Vec<i16>) -> Result<(), Self::Error>;

    /// Appends `ticks` of the lost frame recovered from the FEC carried by `next`, the packet
    /// after the lost one, and returns `true`; or appends nothing and returns `false` when
    /// `next` carries no usable FEC (the default).
    ///
    /// # Errors
    /// Whatever the decoder reports.
    fn recover(&mut self, next: &P, ticks: u32, out: &mut Vec<i16>) -> Result<bool, Self::Error> {
        let _ = (next, ticks, out);
        Ok(false)
    }
}

/// Where concealment audio came from.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ConcealSource {
    /// Recovered from the next packet's FEC.
    Fec,
    /// The codec's PLC.
    Plc,
}

impl<P> JitterBuffer<P> {
    /// Renders a [`Concealment`] with `codec`: FEC from the next buffered packet when it has
    /// some, PLC otherwise.
    ///
    /// # Errors
    /// The codec's error.
    pub fn conceal_with<C: Concealer<P>>(
        &self,
        concealment: &Concealment,
        codec: &mut C,
        out: &mut Vec<i16>,
    ) -> Result<ConcealSource, C::Error> {
        if let Some(next) = concealment.next.and_then(|seq| self.peek(seq))
            && codec.recover(next, concealment.duration, out)?
        {
            return Ok(ConcealSource::Fec);
        }
        codec.conceal(concealment.duration, out)?;
        Ok(ConcealSource::Plc)
    }
}
