//! Session timers (RFC 4028): negotiation of the interval and the refresher, and when to
//! refresh or give up. Pure functions over messages; the application (or the examples'
//! call glue) sends the refresh re-INVITE/UPDATE with [`super::UserAgent::request`].

use std::time::{Duration, Instant};

use crate::header::{MinSe, SessionExpires, Supported};
use crate::msg::{Request, Response};

/// Local session-timer policy.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SessionTimerConfig {
    /// The interval we ask for or grant, 1800 s by default (RFC 4028 §4 recommends it).
    pub session_expires: u32,
    /// The smallest interval we accept, at least 90 s (RFC 4028 §5: "MUST NOT be less than
    /// 90 seconds").
    pub min_se: u32,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        Self {
            session_expires: 1800,
            min_se: 90,
        }
    }
}

/// Who sends the refreshes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Refresher {
    /// The UAC of the INVITE that set the timer.
    Uac,
    /// The UAS of that INVITE.
    Uas,
}

impl Refresher {
    /// The `refresher` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uac => "uac",
            Self::Uas => "uas",
        }
    }
}

/// A negotiated session timer.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SessionTimer {
    /// Session interval in seconds.
    pub interval: u32,
    /// Who refreshes.
    pub refresher: Refresher,
}

/// The request's interval is below our minimum: answer 422 with `Min-SE: min_se`
/// (RFC 4028 §8.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("session interval too small, min-se {min_se}")]
pub struct IntervalTooSmall {
    /// The Min-SE value for the 422.
    pub min_se: u32,
}

impl SessionTimer {
    /// The UAS side (RFC 4028 §9): the timer to put in our 2xx, `None` when neither side
    /// asked for one and we do not want one, or 422 when the request's Session-Expires is
    /// below our Min-SE.
    ///
    /// # Errors
    /// [`IntervalTooSmall`] (answer 422).
    pub fn negotiate_uas(
        request: &Request,
        config: &SessionTimerConfig,
    ) -> Result<Option<Self>, IntervalTooSmall> {
        let uac_supports = request
            .header_all::<Supported>()
            .filter_map(Result::ok)
            .any(|s| s.contains("timer"));
        let request_min = match request.header::<MinSe>() {
            Some(Ok(m)) => m.seconds(),
            _ => 90,
        };
        let Some(Ok(se)) = request.header::<SessionExpires>() else {
            // RFC 4028 §9: without Session-Expires the UAS MAY still use a timer, refreshing
            // itself ("the UAS MUST set the refresher to 'uas'" when the UAC lacks support).
            return Ok(Some(Self {
                interval: config.session_expires.max(request_min).max(config.min_se),
                refresher: Refresher::Uas,
            }));
        };
        if se.seconds() < config.min_se {
            return Err(IntervalTooSmall {
                min_se: config.min_se,
            });
        }
        // "the UAS MAY reduce its value but MUST NOT set it to a duration lower than the value
        // in the Min-SE header field in the request, if any".
        let interval = se
            .seconds()
            .min(config.session_expires.max(request_min))
            .max(request_min);
        let refresher = match se.params().get("refresher").flatten() {
            Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Uas,
            Some(r) if r.eq_ignore_ascii_case("uac") => Refresher::Uac,
            // "If the refresher parameter in the Session-Expires header field in the request
            // was not present ... the UAS elects ... 'uac' if the UAC supports the extension".
            _ if uac_supports => Refresher::Uac,
            _ => Refresher::Uas,
        };
        Ok(Some(Self {
            interval,
            refresher,
        }))
    }

    /// The UAC side: the timer from the 2xx (RFC 4028 §7.2); a 2xx without Session-Expires
    /// means no timer.
    pub fn from_response(response: &Response) -> Option<Self> {
        let se = response.header::<SessionExpires>()?.ok()?;
        let refresher = match se.params().get("refresher").flatten() {
            Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Uas,
            _ => Refresher::Uac,
        };
        Some(Self {
            interval: se.seconds(),
            refresher,
        })
    }

    /// The Session-Expires value to send (`1800;refresher=uac`).
    pub fn header_value(&self) -> String {
        format!("{};refresher={}", self.interval, self.refresher.as_str())
    }

    /// When the refresher sends its refresh: half the interval after the last 2xx
    /// (RFC 4028 §10: "SHOULD send a refresh request at half the session interval").
    pub fn refresh_at(&self, last_refresh: Instant) -> Instant {
        last_refresh + Duration::from_secs(u64::from(self.interval) / 2)
    }

    /// When the other side gives up and sends BYE: "the minimum of 32 seconds and one third
    /// of the session interval" before the session expires (RFC 4028 §10).
    pub fn expire_at(&self, last_refresh: Instant) -> Instant {
        let interval = u64::from(self.interval);
        last_refresh + Duration::from_secs(interval - (interval / 3).min(32))
    }

    /// True when we (UAC or UAS of the INVITE, per `we_are_uac`) send the refreshes.
    pub fn we_refresh(&self, we_are_uac: bool) -> bool {
        (self.refresher == Refresher::Uac) == we_are_uac
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn invite(extra: &str) -> Request {
        Request::parse(Bytes::from(format!(
            "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        )))
        .unwrap()
    }

    #[test]
    fn uas_negotiation() {
        let cfg = SessionTimerConfig::default();
        let t = SessionTimer::negotiate_uas(
            &invite("Supported: timer\r\nSession-Expires: 3600\r\nMin-SE: 120\r\n"),
            &cfg,
        )
        .unwrap()
        .unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Uac));
        assert_eq!(t.header_value(), "1800;refresher=uac");
        let t = SessionTimer::negotiate_uas(&invite("Session-Expires: 600\r\n"), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.interval, t.refresher),
            (600, Refresher::Uas),
            "no timer support: uas"
        );
        let t = SessionTimer::negotiate_uas(
            &invite("Supported: timer\r\nSession-Expires: 600;refresher=uas\r\n"),
            &cfg,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.refresher, Refresher::Uas);
        let e = SessionTimer::negotiate_uas(&invite("Session-Expires: 60\r\n"), &cfg);
        assert_eq!(e, Err(IntervalTooSmall { min_se: 90 }));
        let t = SessionTimer::negotiate_uas(&invite(""), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Uas));
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "an origin instant for offsets")]
    fn refresh_and_expiry_instants() {
        let t0 = Instant::now();
        let t = SessionTimer {
            interval: 1800,
            refresher: Refresher::Uac,
        };
        assert_eq!(t.refresh_at(t0), t0 + Duration::from_secs(900));
        assert_eq!(t.expire_at(t0), t0 + Duration::from_secs(1768));
        let short = SessionTimer {
            interval: 90,
            refresher: Refresher::Uas,
        };
        assert_eq!(short.expire_at(t0), t0 + Duration::from_secs(60));
        assert!(short.we_refresh(false) && !short.we_refresh(true));
    }
}
