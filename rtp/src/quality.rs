//! Call quality: the ITU-T G.107 E-model ([G.107] (06/2015) §7), giving the transmission rating
//! R and the estimated conversational MOS (MOS-CQ, Annex B) of a stream from its codec,
//! packetization, one-way delay, packet loss and loss burstiness, and the RFC 3611 VoIP metrics
//! block filled from them.
//!
//! Only the transmission parameters a VoIP endpoint observes are inputs; the electro-acoustic
//! ones (loudness ratings, sidetone, noise, echo loss) stay at the G.107 Table 3 defaults.
//!
//! [G.107]: https://www.itu.int/rec/T-REC-G.107

use crate::rtcp::VoipMetrics;
use crate::types::Ssrc;

/// A codec's equipment impairment factor Ie and packet-loss robustness Bpl ([G.113] Appendix I).
///
/// [G.113]: https://www.itu.int/rec/T-REC-G.113
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie (0 for G.711).
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
    /// Algorithmic delay added to the mouth-to-ear delay (frame lookahead), ms.
    pub lookahead_ms: f64,
}

impl CodecImpairment {
    /// G.711 with packet-loss concealment (G.113 Appendix I: Ie = 0, Bpl = 25.1).
    pub const G711_PLC: Self = Self {
        ie: 0.0,
        bpl: 25.1,
        lookahead_ms: 0.0,
    };
    /// G.711 without concealment (G.113 Appendix I: Ie = 0, Bpl = 4.3).
    pub const G711: Self = Self {
        ie: 0.0,
        bpl: 4.3,
        lookahead_ms: 0.0,
    };
    /// G.729A with VAD (G.113 Appendix I: Ie = 11, Bpl = 19.0), 5 ms lookahead.
    pub const G729A: Self = Self {
        ie: 11.0,
        bpl: 19.0,
        lookahead_ms: 5.0,
    };
    /// G.723.1 at 6.3 kbit/s with VAD (G.113 Appendix I: Ie = 15, Bpl = 16.1), 7.5 ms lookahead.
    pub const G723_1: Self = Self {
        ie: 15.0,
        bpl: 16.1,
        lookahead_ms: 7.5,
    };
}

/// The inputs of an E-model estimate for one stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EModelInput {
    /// The codec.
    pub codec: CodecImpairment,
    /// Packetization interval (ptime), ms; adds one frame of delay.
    pub packetization_ms: f64,
    /// One-way network delay, ms (e.g. RTT / 2).
    pub one_way_delay_ms: f64,
    /// Jitter buffer delay, ms.
    pub jitter_buffer_ms: f64,
    /// Packet loss in **percent** (0-100), not a count or a fraction.
    pub loss_percent: f64,
    /// Burst ratio BurstR (1 for random loss).
    pub burst_ratio: f64,
}

impl Default for EModelInput {
    fn default() -> Self {
        Self {
            codec: CodecImpairment::G711_PLC,
            packetization_ms: 0.0,
            one_way_delay_ms: 0.0,
            jitter_buffer_ms: 0.0,
            loss_percent: 0.0,
            burst_ratio: 1.0,
        }
    }
}

/// G.107 parameters (Table 3); all at their defaults except the delays, Ie, Bpl, Ppl, BurstR.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct G107Params {
    /// Send loudness rating SLR, dB.
    pub slr: f64,
    /// Receive loudness rating RLR, dB.
    pub rlr: f64,
    /// Sidetone masking rating STMR, dB.
    pub stmr: f64,
    /// Listener sidetone rating LSTR, dB.
    pub lstr: f64,
    /// D-value of the telephone, send side.
    pub ds: f64,
    /// D-value of the telephone, receive side.
    pub dr: f64,
    /// Talker echo loudness rating TELR, dB.
    pub telr: f64,
    /// Weighted echo path loss WEPL, dB.
    pub wepl: f64,
    /// Mean one-way delay of the echo path T, ms.
    pub t: f64,
    /// Round-trip delay in a 4-wire loop Tr, ms.
    pub tr: f64,
    /// Absolute delay in echo-free connections Ta, ms.
    pub ta: f64,
    /// Number of quantizing distortion units qdu.
    pub qdu: f64,
    /// Equipment impairment factor Ie.
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
    /// Random packet-loss probability Ppl, percent.
    pub ppl: f64,
    /// Burst ratio BurstR.
    pub burst_r: f64,
    /// Circuit noise referred to the 0 dBr point Nc, dBm0p.
    pub nc: f64,
    /// Noise floor at the receive side Nfor, dBmp.
    pub nfor: f64,
    /// Room noise at the send side Ps, dB(A).
    pub ps: f64,
    /// Room noise at the receive side Pr, dB(A).
    pub pr: f64,
    /// Advantage factor A.
    pub a: f64,
}

impl Default for G107Params {
    /// The G.107 Table 3 default values, which give R = 93.2.
    fn default() -> Self {
        Self {
            slr: 8.0,
            rlr: 2.0,
            stmr: 15.0,
            lstr: 18.0,
            ds: 3.0,
            dr: 3.0,
            telr: 65.0,
            wepl: 110.0,
            t: 0.0,
            tr: 0.0,
            ta: 0.0,
            qdu: 1.0,
            ie: 0.0,
            bpl: 4.3,
            ppl: 0.0,
            burst_r: 1.0,
            nc: -70.0,
            nfor: -64.0,
            ps: 35.0,
            pr: 35.0,
            a: 0.0,
        }
    }
}

impl G107Params {
    /// The transmission rating factor R = Ro - Is - Id - Ie,eff + A (G.107 §7.1, eq. 7-1),
    /// limited to the scale's range [0, 100] (G.107 Annex B rates R <= 0 as MOS 1 and
    /// R >= 100 as 4.5; heavy loss with a long delay drives the sum below 0, an advantage
    /// factor A on a clean line above 100).
    pub fn r_factor(&self) -> f64 {
        let olr = self.slr + self.rlr;
        // §7.2 basic signal-to-noise ratio.
        let nfo = self.nfor + self.rlr;
        let pre = self.pr + 10.0 * (1.0 + 10f64.powf((10.0 - self.lstr) / 10.0)).log10();
        let nor = self.rlr - 121.0 + pre + 0.008 * (pre - 35.0).powi(2);
        let nos =
            self.ps - self.slr - self.ds - 100.0 + 0.004 * (self.ps - olr - self.ds - 14.0).powi(2);
        let no = 10.0
            * (10f64.powf(self.nc / 10.0)
                + 10f64.powf(nos / 10.0)
                + 10f64.powf(nor / 10.0)
                + 10f64.powf(nfo / 10.0))
            .log10();
        let ro = 15.0 - 1.5 * (self.slr + no);

        // §7.3 simultaneous impairment factor Is = Iolr + Ist + Iq.
        let xolr = olr + 0.2 * (64.0 + no - self.rlr);
        let iolr = 20.0 * ((1.0 + (xolr / 8.0).powi(8)).powf(1.0 / 8.0) - xolr / 8.0);
        let stmro = -10.0
            * (10f64.powf(-self.stmr / 10.0)
                + (-self.t / 4.0).exp() * 10f64.powf(-self.telr / 10.0))
            .log10();
        let ist = 12.0 * (1.0 + ((stmro - 13.0) / 6.0).powi(8)).powf(1.0 / 8.0)
            - 28.0 * (1.0 + ((stmro + 1.0) / 19.4).powi(35)).powf(1.0 / 35.0)
            - 13.0 * (1.0 + ((stmro - 3.0) / 33.0).powi(13)).powf(1.0 / 13.0)
            + 29.0;
        let q = 37.0 - 15.0 * self.qdu.log10();
        let g = 1.07 + 0.258 * q + 0.0602 * q * q;
        let z = 46.0 / 30.0 - g / 40.0;
        let y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;
        let iq = 15.0 * (1.0 + 10f64.powf(y) + 10f64.powf(z)).log10();
        let is = iolr + ist + iq;

        // §7.4 delay impairment factor Id = Idte + Idle + Idd.
        let roe = -1.5 * (no - self.rlr);
        let mut terv = self.telr - 40.0 * ((1.0 + self.t / 10.0) / (1.0 + self.t / 150.0)).log10()
            + 6.0 * (-0.3 * self.t * self.t).exp();
        if self.stmr < 9.0 {
            terv += ist / 2.0;
        }
        let re = 80.0 + 2.5 * (terv - 14.0);
        let idte = ((roe - re) / 2.0 + ((roe - re).powi(2) / 4.0 + 100.0).sqrt() - 1.0)
            * (1.0 - (-self.t).exp());
        let rle = 10.5 * (self.wepl + 7.0) * (self.tr + 1.0).powf(-0.25);
        let idle = (ro - rle) / 2.0 + ((ro - rle).powi(2) / 4.0 + 169.0).sqrt();
        let idd = if self.ta <= 100.0 {
            0.0
        } else {
            let x = (self.ta / 100.0).log10() / 2f64.log10();
            25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0)
                - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
                + 2.0)
        };
        let id = idte + idle + idd;

        // §7.5 effective equipment impairment factor (eq. 7-29); Ppl is a percentage.
        let burst_r = self.burst_r.max(1.0);
        let ie_eff = self.ie + (95.0 - self.ie) * self.ppl / (self.ppl / burst_r + self.bpl);

        (ro - is - id - ie_eff + self.a).clamp(0.0, 100.0)
    }
}

/// An E-model result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    /// Transmission rating R, 0-100.
    pub r_factor: f64,
    /// Estimated conversational MOS, 1.0-4.5 (G.107 Annex B).
    pub mos_cq: f64,
}

/// MOS-CQ from R (G.107 Annex B, eq. B-4).
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

/// The E-model estimate for a stream. The mouth-to-ear delay Ta = T is the one-way network
/// delay plus the jitter buffer, one packetization interval and the codec lookahead; the echo
/// round trip Tr is 2T.
pub fn estimate(input: &EModelInput) -> Quality {
    let ta = (input.one_way_delay_ms
        + input.jitter_buffer_ms
        + input.packetization_ms
        + input.codec.lookahead_ms)
        .max(0.0);
    let params = G107Params {
        t: ta,
        ta,
        tr: 2.0 * ta,
        ie: input.codec.ie,
        bpl: input.codec.bpl,
        ppl: input.loss_percent.clamp(0.0, 100.0),
        burst_r: input.burst_ratio,
        ..G107Params::default()
    };
    let r = params.r_factor();
    Quality {
        r_factor: r,
        mos_cq: mos_from_r(r),
    }
}

impl Quality {
    /// An RFC 3611 VoIP metrics block for `ssrc` carrying this estimate and the stream figures:
    /// loss rate in 1/256 from a percentage, round-trip and end-system delay in ms; MOS-LQ,
    /// levels and RERL are reported unavailable (127), the burst metrics as not measured (0).
    pub fn voip_metrics(&self, ssrc: Ssrc, input: &EModelInput, round_trip_ms: f64) -> VoipMetrics {
        // RFC 3611 §4.7.1: "the fraction of RTP data packets ... lost ... expressed as a fixed
        // point number with the binary point at the left edge of the field" — so 256 × fraction,
        // i.e. percent × 256 / 100.
        let loss_rate = (input.loss_percent.clamp(0.0, 100.0) * 256.0 / 100.0).min(255.0) as u8;
        let end_system = input.jitter_buffer_ms + input.packetization_ms + input.codec.lookahead_ms;
        VoipMetrics {
            ssrc,
            loss_rate,
            round_trip_delay: round_trip_ms.clamp(0.0, 65535.0) as u16,
            end_system_delay: end_system.clamp(0.0, 65535.0) as u16,
            signal_level: 127,
            noise_level: 127,
            rerl: 127,
            // RFC 3611 §4.7.2: "Gmin ... The recommended value of 16".
            gmin: 16,
            r_factor: self.r_factor.clamp(0.0, 100.0).round() as u8,
            ext_r_factor: 127,
            mos_lq: 127,
            // RFC 3611 §4.7.5: MOS "expressed as an integer in the range 10 to 50, corresponding
            // to MOS x 10".
            mos_cq: (self.mos_cq * 10.0).round().clamp(10.0, 50.0) as u8,
            jb_nominal: input.jitter_buffer_ms.clamp(0.0, 65535.0) as u16,
            ..VoipMetrics::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_published_r() {
        // G.107 §7.7: "the default values ... result in a very high quality with a rating factor
        // of R = 93.2".
        let r = G107Params::default().r_factor();
        assert!((r - 93.2).abs() < 0.05, "R = {r}");
        assert!(
            (mos_from_r(r) - 4.41).abs() < 0.01,
            "MOS = {}",
            mos_from_r(r)
        );
    }

    #[test]
    fn mos_mapping_points() {
        // Annex B: R = 50 -> MOS 2.58 (1 + 1.75 + 50*-10*50*7e-6 = 2.575); clamps at the ends.
        assert!((mos_from_r(50.0) - 2.575).abs() < 1e-9);
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }

    #[test]
    fn loss_uses_percent_and_bpl() {
        // Ie,eff = 0 + 95 * 2 / (2 + 25.1) = 7.011 for 2 % random loss, G.711 with PLC.
        let base = G107Params::default();
        let lossy = G107Params {
            ppl: 2.0,
            bpl: 25.1,
            ..base
        };
        let d = base.r_factor() - lossy.r_factor();
        assert!((d - 95.0 * 2.0 / 27.1).abs() < 1e-9, "{d}");
        // Bursty loss hurts more: BurstR 2 -> 95 * 2 / (1 + 25.1).
        let bursty = G107Params {
            burst_r: 2.0,
            ..lossy
        };
        let d2 = base.r_factor() - bursty.r_factor();
        assert!((d2 - 95.0 * 2.0 / 26.1).abs() < 1e-9, "{d2}");
    }

    #[test]
    fn delay_impairment_grows_past_100_ms() {
        let at = |ms: f64| {
            estimate(&EModelInput {
                one_way_delay_ms: ms,
                ..Default::default()
            })
        };
        let r0 = at(0.0).r_factor;
        let r150 = at(150.0).r_factor;
        let r400 = at(400.0).r_factor;
        assert!(r0 > r150 && r150 > r400);
        // G.107 Fig. 2 shape: R stays above 85 at 150 ms with TELR 65 and falls near 60 by 400 ms.
        assert!(r150 > 85.0 && r150 < 93.0, "{r150}");
        assert!(r400 > 50.0 && r400 < 75.0, "{r400}");
    }

    #[test]
    fn r_stays_on_the_0_to_100_scale() {
        // G.723.1 with 60 % bursty loss and 1.5 s one-way delay: Ie,eff alone is about 169
        // (eq. 7-29 with BurstR 4) and Idd about 48, so the unclamped sum is near -136.
        let input = EModelInput {
            codec: CodecImpairment::G723_1,
            packetization_ms: 30.0,
            one_way_delay_ms: 1500.0,
            jitter_buffer_ms: 200.0,
            loss_percent: 60.0,
            burst_ratio: 4.0,
        };
        let q = estimate(&input);
        assert_eq!(q.r_factor, 0.0);
        assert_eq!(q.mos_cq, 1.0);
        let m = q.voip_metrics(Ssrc(7), &input, 3000.0);
        assert_eq!((m.r_factor, m.mos_cq), (0, 10));
        // The advantage factor at its largest (A = 20, G.107 Table 1: hard-to-reach locations,
        // multi-hop satellite) on the default line.
        let r = G107Params {
            a: 20.0,
            ..G107Params::default()
        }
        .r_factor();
        assert_eq!(r, 100.0);
    }

    #[test]
    fn xr_block_units() {
        let input = EModelInput {
            loss_percent: 50.0,
            jitter_buffer_ms: 40.0,
            packetization_ms: 20.0,
            ..Default::default()
        };
        let q = estimate(&input);
        let m = q.voip_metrics(Ssrc(7), &input, 30.0);
        assert_eq!(m.loss_rate, 128);
        assert_eq!(m.end_system_delay, 60);
        assert_eq!(m.round_trip_delay, 30);
        assert_eq!(m.r_factor, q.r_factor.round() as u8);
        assert_eq!(m.mos_cq, (q.mos_cq * 10.0).round() as u8);
    }
}
