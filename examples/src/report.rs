//! The per-leg call report printed at hang-up (demo-call, phone, gateway) and carried in the
//! PBX's call records.

use std::fmt;

use serde::Serialize;

/// Quality and traffic figures of one call leg, as seen by its receiver.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LegReport {
    /// A name for the leg (`alice -> pbx`, `1000`, ...).
    pub leg: String,
    /// Negotiated codec (`opus/48000`, `PCMU/8000`).
    pub codec: String,
    /// SRTP suite, or `none` for plain RTP.
    pub srtp: String,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP packets received (after SRTP authentication).
    pub packets_received: u64,
    /// Packets lost (RFC 3550 A.3 cumulative lost, never negative here).
    pub lost: u64,
    /// Loss in percent of expected packets.
    pub loss_pct: f64,
    /// Interarrival jitter in ms (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Round-trip time from RTCP LSR/DLSR, when a report came back.
    pub rtt_ms: Option<f64>,
    /// Mean jitter-buffer playout delay in ms.
    pub jb_delay_ms: f64,
    /// Share of played frames that were concealed, percent.
    pub concealed_pct: f64,
    /// Packets the jitter buffer dropped as late.
    pub late: u64,
    /// Estimated MOS (ITU-T G.107 E-model, MOS-CQ).
    pub mos: f64,
    /// DTMF digits received on this leg.
    pub dtmf: String,
}

impl LegReport {
    /// The heading line matching [`LegReport`]'s `Display` rows.
    pub fn heading() -> &'static str {
        "leg                 codec        srtp                     sent   recv  lost  loss%  \
         jitter  rtt     jb-delay  conceal%  mos   dtmf"
    }
}

impl fmt::Display for LegReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rtt = self
            .rtt_ms
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.1}ms"));
        write!(
            f,
            "{:<19} {:<12} {:<23} {:>5} {:>6} {:>5} {:>6.2} {:>6.1}ms {:<7} {:>6.1}ms {:>8.2}  {:.2}  {}",
            self.leg,
            self.codec,
            self.srtp,
            self.packets_sent,
            self.packets_received,
            self.lost,
            self.loss_pct,
            self.jitter_ms,
            rtt,
            self.jb_delay_ms,
            self.concealed_pct,
            self.mos,
            if self.dtmf.is_empty() {
                "-"
            } else {
                &self.dtmf
            },
        )
    }
}

/// Renders a report table (heading + one row per leg).
pub fn render(legs: &[LegReport]) -> String {
    let mut out = String::from(LegReport::heading());
    for leg in legs {
        out.push('\n');
        out.push_str(&leg.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_field() {
        let leg = LegReport {
            leg: "alice".into(),
            codec: "opus/48000".into(),
            srtp: "AES_CM_128_HMAC_SHA1_80".into(),
            packets_sent: 500,
            packets_received: 488,
            lost: 12,
            loss_pct: 2.4,
            jitter_ms: 7.25,
            rtt_ms: Some(81.0),
            jb_delay_ms: 62.0,
            concealed_pct: 2.6,
            late: 1,
            mos: 4.02,
            dtmf: "123#".into(),
        };
        let t = render(std::slice::from_ref(&leg));
        let row = t.lines().nth(1).unwrap();
        for want in [
            "alice",
            "opus/48000",
            "AES_CM_128_HMAC_SHA1_80",
            "500",
            "488",
            "2.40",
            "7.2ms",
        ] {
            assert!(row.contains(want), "{want} missing in {row}");
        }
        assert!(row.contains("81.0ms") && row.contains("4.02") && row.ends_with("123#"));
        let json = serde_json::to_value(&leg).unwrap();
        assert_eq!(json["packets_received"], 488);
        assert_eq!(json["rtt_ms"], 81.0);
        let none = LegReport {
            rtt_ms: None,
            ..leg
        };
        assert!(none.to_string().contains(" - "));
    }
}
