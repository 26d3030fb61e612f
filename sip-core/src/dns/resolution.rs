//! RFC 3263 §4 over DNS messages: a [`Resolution`] runs a [`Locator`] plan, asking
//! [`Question`]s that a [`DnsCache`] cannot answer, and yields the ordered targets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::Rng;

use super::wire::{DnsMessage, Question, Rcode, Record, RecordData, RecordType};
use crate::locate::{
    LocateConfig, LocateError, Locator, MAX_RECORDS, NaptrRecord, Query, SrvRecord,
};
use crate::transaction::Target;
use crate::uri::Uri;

/// Which address records to ask for: those the local socket can reach.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum IpFamilies {
    /// A records only.
    V4,
    /// AAAA records only.
    V6,
    /// A, then AAAA.
    #[default]
    Both,
}

impl IpFamilies {
    /// The family a socket bound to `local` can reach: [`IpFamilies::V4`] or
    /// [`IpFamilies::V6`].
    pub fn of(local: std::net::SocketAddr) -> Self {
        if local.is_ipv4() { Self::V4 } else { Self::V6 }
    }
}

/// Answers by (name, type) until their TTL runs out, at most `max_entries` of them.
///
/// Names are kept lower case without the final dot. Negative answers (NXDOMAIN or no
/// records) are kept for the SOA's negative TTL (RFC 2308 §5: the smaller of the SOA
/// record's TTL and its MINIMUM), and not at all without an SOA. Every TTL is capped at
/// [`DnsCache::max_ttl`]. When full, expired entries go first, then the one expiring
/// soonest.
#[derive(Clone, Debug)]
pub struct DnsCache {
    entries: HashMap<(String, RecordType), CacheEntry>,
    max_entries: usize,
    max_ttl: Duration,
}

#[derive(Clone, Debug)]
struct CacheEntry {
    expires: Instant,
    records: Vec<RecordData>,
}

impl Default for DnsCache {
    /// 1024 entries, TTLs capped at one day.
    fn default() -> Self {
        Self::new(1024)
    }
}

impl DnsCache {
    /// An empty cache of at most `max_entries` answers (TTLs capped at one day).
    pub fn new(max_entries: usize) -> Self {
        Self {
            entries: HashMap::new(),
            max_entries,
            max_ttl: Duration::from_secs(86_400),
        }
    }

    /// The longest time an answer is kept, whatever its TTL.
    pub fn max_ttl(&self) -> Duration {
        self.max_ttl
    }

    /// Sets [`DnsCache::max_ttl`].
    pub fn set_max_ttl(&mut self, max: Duration) {
        self.max_ttl = max;
    }

    /// The number of entries, expired ones included until they are evicted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The records of `name`/`rtype` still fresh at `now` (empty: a cached negative answer);
    /// `None` when not cached.
    pub fn get(&self, now: Instant, name: &str, rtype: RecordType) -> Option<&[RecordData]> {
        self.get_until(now, name, rtype).map(|(records, _)| records)
    }

    /// As [`DnsCache::get`], with the instant the answer goes stale (its TTL runs out).
    pub fn get_until(
        &self,
        now: Instant,
        name: &str,
        rtype: RecordType,
    ) -> Option<(&[RecordData], Instant)> {
        self.entries
            .get(&(normalize(name), rtype))
            .filter(|e| e.expires > now)
            .map(|e| (e.records.as_slice(), e.expires))
    }

    /// How long a record of `ttl` seconds is used: its TTL capped at [`DnsCache::max_ttl`]
    /// (for the cache and for [`Resolution::expires`] alike).
    fn lifetime(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl)).min(self.max_ttl)
    }

    /// Keeps `records` as the answer for `name`/`rtype` for `ttl` seconds (capped at
    /// [`DnsCache::max_ttl`]; 0 keeps nothing). At most `MAX_RECORDS` records are kept.
    pub fn insert(
        &mut self,
        now: Instant,
        name: &str,
        rtype: RecordType,
        mut records: Vec<RecordData>,
        ttl: u32,
    ) {
        let ttl = self.lifetime(ttl);
        if ttl.is_zero() || self.max_entries == 0 {
            return;
        }
        let key = (normalize(name), rtype);
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max_entries {
            self.entries.retain(|_, e| e.expires > now);
            if self.entries.len() >= self.max_entries
                && let Some(soonest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&soonest);
            }
        }
        records.truncate(MAX_RECORDS);
        self.entries.insert(
            key,
            CacheEntry {
                expires: now + ttl,
                records,
            },
        );
    }

    /// Caches what `response` says about `question` and returns it: the records of the
    /// question's type owned by the name (after the CNAME chain in the answer section, at
    /// most 8 links), empty for NXDOMAIN or no data. Addresses in the additional section
    /// are cached too when they belong to an SRV target of the answer (RFC 2782: "the
    /// additional data section ... may contain A records for the SRV targets"); other
    /// additional records are ignored, so an answer cannot plant names it was not asked
    /// about. Returns `None` (caching nothing) for other response codes, such as SERVFAIL.
    pub fn insert_response(
        &mut self,
        now: Instant,
        question: &Question,
        response: &DnsMessage,
    ) -> Option<Vec<RecordData>> {
        self.insert_response_until(now, question, response)
            .map(|(records, _)| records)
    }

    /// As [`DnsCache::insert_response`], with the instant the records returned go stale:
    /// `now` plus the smallest TTL of them and of the CNAME links before them (capped at
    /// [`DnsCache::max_ttl`]), whether or not they were cached (a TTL of 0 is stale at
    /// once); `None` for no records.
    fn insert_response_until(
        &mut self,
        now: Instant,
        question: &Question,
        response: &DnsMessage,
    ) -> Option<(Vec<RecordData>, Option<Instant>)> {
        let rcode = response.flags.rcode;
        if rcode != Rcode::NO_ERROR && rcode != Rcode::NAME_ERROR {
            return None;
        }
        let mut name = normalize(&question.name);
        let mut ttl = u32::MAX;
        if rcode == Rcode::NO_ERROR {
            for _ in 0..MAX_CNAMES {
                let Some((target, cname_ttl)) =
                    response.answers.iter().find_map(|r| match &r.data {
                        RecordData::Cname(t) if normalize(&r.name) == name => Some((t, r.ttl)),
                        _ => None,
                    })
                else {
                    break;
                };
                name = normalize(target);
                ttl = ttl.min(cname_ttl);
            }
        }
        let records = if rcode == Rcode::NO_ERROR {
            let (records, owned_ttl) = records_of(&response.answers, &name, question.rtype);
            ttl = ttl.min(owned_ttl);
            records
        } else {
            Vec::new()
        };
        if records.is_empty() {
            // RFC 2308 §5: "the TTL of this record is set from the minimum of the MINIMUM
            // field of the SOA record and the TTL of the SOA itself".
            let negative = response.authorities.iter().find_map(|r| match r.data {
                RecordData::Soa { minimum, .. } => Some(minimum.min(r.ttl)),
                _ => None,
            });
            if let Some(negative) = negative {
                self.insert(now, &question.name, question.rtype, Vec::new(), negative);
            }
            return Some((records, None));
        }
        self.insert(now, &question.name, question.rtype, records.clone(), ttl);
        let until = now.checked_add(self.lifetime(ttl));
        if question.rtype == RecordType::SRV {
            let targets: Vec<String> = records
                .iter()
                .filter_map(RecordData::as_srv)
                .map(|s| normalize(&s.target))
                .collect();
            for rtype in [RecordType::A, RecordType::AAAA] {
                for target in &targets {
                    let (addrs, ttl) = records_of(&response.additionals, target, rtype);
                    if !addrs.is_empty() {
                        self.insert(now, target, rtype, addrs, ttl);
                    }
                }
            }
        }
        Some((records, until))
    }
}

/// One RFC 3263 resolution of a URI, sans-IO.
///
/// Drive it: ask [`Resolution::poll_question`] (it answers what it can from the cache);
/// while it returns a question, send it ([`DnsMessage::query`] with a random ID), and feed
/// the response to [`Resolution::handle_response`], or [`Resolution::handle_failure`] after
/// the last timeout; once it returns `None`, [`Resolution::targets`] is the ordered list to
/// try (RFC 3263 §4.3: on a timeout or transport error, the next one). A failed lookup
/// counts as an empty answer, so the plan always ends.
#[derive(Clone, Debug)]
pub struct Resolution {
    locator: Locator,
    families: IpFamilies,
    /// A/AAAA answers of names whose other family is still being asked.
    addrs: HashMap<String, [Option<Vec<IpAddr>>; 2]>,
    /// NAPTR/SRV answers from the network (kept here too, so an answer evicted from a full
    /// cache is not asked again).
    answered: HashMap<(String, RecordType), Vec<RecordData>>,
    questions: usize,
    /// The earliest instant a record used so far goes stale.
    expires: Option<Instant>,
}

impl Resolution {
    /// The resolution of `uri`.
    ///
    /// # Errors
    /// As [`Locator::new`].
    pub fn new(
        uri: &Uri,
        config: &LocateConfig,
        families: IpFamilies,
    ) -> Result<Self, LocateError> {
        Ok(Self {
            locator: Locator::new(uri, config)?,
            families,
            addrs: HashMap::new(),
            answered: HashMap::new(),
            questions: 0,
            expires: None,
        })
    }

    /// The next question to send, or `None` when [`Resolution::targets`] is final. Answers
    /// fresh in `cache` at `now` are taken without asking. The same question is returned
    /// until it is answered or failed.
    pub fn poll_question(&mut self, now: Instant, cache: &DnsCache) -> Option<Question> {
        // Each turn answers one locator query; the locator's plan is bounded, and so is
        // this loop, should an answer ever fail to move it on.
        for _ in 0..MAX_STEPS {
            let (name, rtype) = match self.locator.next_query()? {
                Query::Naptr(name) => (name, RecordType::NAPTR),
                Query::Srv(name) => (name, RecordType::SRV),
                Query::Address(name) => {
                    // keyed as `answer` stores the answers (`normalize`)
                    let slots = self.addrs.entry(normalize(&name)).or_default();
                    for (i, rtype) in [RecordType::A, RecordType::AAAA].into_iter().enumerate() {
                        let wanted = match self.families {
                            IpFamilies::V4 => i == 0,
                            IpFamilies::V6 => i == 1,
                            IpFamilies::Both => true,
                        };
                        let Some(slot) = slots.get_mut(i) else {
                            continue;
                        };
                        if !wanted {
                            slot.get_or_insert_with(Vec::new);
                        }
                        if slot.is_none() {
                            match cache.get_until(now, &name, rtype) {
                                Some((cached, until)) => {
                                    if !cached.is_empty() {
                                        self.expires = earliest(self.expires, Some(until));
                                    }
                                    *slot = Some(ips(cached));
                                }
                                None => return Some(Question { name, rtype }),
                            }
                        }
                    }
                    let all: Vec<IpAddr> = slots.iter().flatten().flatten().copied().collect();
                    self.locator.answer_addresses(&name, &all);
                    continue;
                }
            };
            let key = (normalize(&name), rtype);
            let records = match self.answered.get(&key) {
                Some(r) => r.clone(),
                None => match cache.get_until(now, &name, rtype) {
                    Some((r, until)) => {
                        if !r.is_empty() {
                            self.expires = earliest(self.expires, Some(until));
                        }
                        r.to_vec()
                    }
                    None => {
                        return Some(Question { name, rtype });
                    }
                },
            };
            self.feed(&name, rtype, &records);
        }
        None
    }

    /// Takes the response to `question` (check it with [`DnsMessage::answers`] first),
    /// caching what it says. A response code other than NOERROR/NXDOMAIN counts as a
    /// failure.
    pub fn handle_response(
        &mut self,
        now: Instant,
        cache: &mut DnsCache,
        question: &Question,
        response: &DnsMessage,
    ) {
        let (records, until) = cache
            .insert_response_until(now, question, response)
            .unwrap_or_default();
        self.expires = earliest(self.expires, until);
        self.answer(question, records);
    }

    /// No answer to `question` (every server timed out or failed): treated as no records.
    pub fn handle_failure(&mut self, question: &Question) {
        self.answer(question, Vec::new());
    }

    /// The number of questions answered or failed so far.
    pub fn questions(&self) -> usize {
        self.questions
    }

    /// The targets to try, in order (RFC 3263 §4.3). `rng` orders SRV records of one
    /// priority by weight (RFC 2782).
    pub fn targets(&self, rng: &mut impl Rng) -> Vec<Target> {
        self.locator.targets(rng)
    }

    /// Until when [`Resolution::targets`] may be used: the earliest instant one of the
    /// records they came from goes stale (the smallest TTL of the NAPTR, SRV, A/AAAA
    /// records and CNAME links used, from the network or from the cache; capped at
    /// [`DnsCache::max_ttl`]). After it the URI is to be resolved again: a server moved by
    /// DNS is found without a restart (RFC 3263 §4.3 takes the order from records that
    /// have TTLs). `None` when no record was used (an IP host); negative answers do not
    /// count, they give no target.
    pub fn expires(&self) -> Option<Instant> {
        self.expires
    }

    fn answer(&mut self, question: &Question, records: Vec<RecordData>) {
        self.questions += 1;
        let name = normalize(&question.name);
        match question.rtype {
            RecordType::A | RecordType::AAAA => {
                let i = usize::from(question.rtype == RecordType::AAAA);
                if let Some(slot) = self.addrs.entry(name).or_default().get_mut(i) {
                    *slot = Some(ips(&records));
                }
            }
            rtype => {
                if self.answered.len() < MAX_STEPS {
                    self.answered.insert((name.clone(), rtype), records.clone());
                }
                self.feed(&name, rtype, &records);
            }
        }
    }

    fn feed(&mut self, name: &str, rtype: RecordType, records: &[RecordData]) {
        if rtype == RecordType::NAPTR {
            let naptr: Vec<NaptrRecord> = records
                .iter()
                .filter_map(RecordData::as_naptr)
                .cloned()
                .collect();
            self.locator.answer_naptr(name, &naptr);
        } else if rtype == RecordType::SRV {
            let srv: Vec<SrvRecord> = records
                .iter()
                .filter_map(RecordData::as_srv)
                .cloned()
                .collect();
            self.locator.answer_srv(name, &srv);
        }
    }
}

/// The data of the `rtype` records of `name` (normalized) in `section`, at most
/// `MAX_RECORDS`, and the smallest of their TTLs (`u32::MAX` for none).
fn records_of(section: &[Record], name: &str, rtype: RecordType) -> (Vec<RecordData>, u32) {
    let mut ttl = u32::MAX;
    let records = section
        .iter()
        .filter(|r| r.data.rtype() == rtype && normalize(&r.name) == name)
        .take(MAX_RECORDS)
        .map(|r| {
            ttl = ttl.min(r.ttl);
            r.data.clone()
        })
        .collect();
    (records, ttl)
}

/// The earlier of two instants, either of which may be unknown.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn ips(records: &[RecordData]) -> Vec<IpAddr> {
    records.iter().filter_map(RecordData::as_ip).collect()
}

/// Lower case, no final dot (RFC 4343: names compare case-insensitively).
fn normalize(name: &str) -> String {
    let n = name.strip_suffix('.').unwrap_or(name);
    if n.is_empty() {
        String::from(".")
    } else {
        n.to_ascii_lowercase()
    }
}

/// Most CNAME links followed in one answer.
const MAX_CNAMES: usize = 8;
/// Most locator queries one resolution answers (the plan needs at most 1 NAPTR, 16 SRV
/// names and 17 address names).
const MAX_STEPS: usize = 4 * MAX_RECORDS + 8;

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::dns::{Flags, Record};
    use crate::transaction::Transport;

    #[test]
    fn the_families_of_a_local_address() {
        assert_eq!(
            IpFamilies::of("127.0.0.1:5060".parse().unwrap()),
            IpFamilies::V4
        );
        assert_eq!(
            IpFamilies::of("[::1]:5060".parse().unwrap()),
            IpFamilies::V6
        );
    }

    fn rec(name: &str, ttl: u32, data: RecordData) -> Record {
        Record {
            name: name.into(),
            ttl,
            data,
        }
    }

    fn naptr(order: u16, service: &str, replacement: &str) -> RecordData {
        RecordData::Naptr(NaptrRecord::sip(order, 10, service, replacement))
    }

    fn srv(priority: u16, port: u16, target: &str) -> RecordData {
        RecordData::Srv(SrvRecord::new(priority, 0, port, target))
    }

    fn a(ip: [u8; 4]) -> RecordData {
        RecordData::A(Ipv4Addr::from(ip))
    }

    fn soa(minimum: u32) -> Record {
        rec(
            "example.com",
            600,
            RecordData::Soa {
                mname: "ns.example.com".into(),
                rname: "hostmaster.example.com".into(),
                minimum,
            },
        )
    }

    /// A zone: answers by (name, type), plus extra additional records per question.
    struct Zone {
        records: Vec<Record>,
        additionals: Vec<Record>,
        asked: Vec<Question>,
    }

    impl Zone {
        fn new(records: Vec<Record>) -> Self {
            Self {
                records,
                additionals: Vec::new(),
                asked: Vec::new(),
            }
        }

        fn respond(&mut self, q: &Question) -> DnsMessage {
            self.asked.push(q.clone());
            let answers: Vec<Record> = self
                .records
                .iter()
                .filter(|r| r.name.eq_ignore_ascii_case(&q.name))
                .filter(|r| r.data.rtype() == q.rtype || r.data.rtype() == RecordType::CNAME)
                .cloned()
                .collect();
            let mut answers = answers;
            // follow one CNAME inside the zone, as a recursive server does
            let cname = answers.iter().find_map(|r| match &r.data {
                RecordData::Cname(t) => Some(t.clone()),
                _ => None,
            });
            if let Some(t) = cname {
                answers.extend(
                    self.records
                        .iter()
                        .filter(|r| r.name == t && r.data.rtype() == q.rtype)
                        .cloned(),
                );
            }
            let known = self
                .records
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(&q.name));
            DnsMessage {
                id: 7,
                flags: Flags {
                    response: true,
                    rcode: if known {
                        Rcode::NO_ERROR
                    } else {
                        Rcode::NAME_ERROR
                    },
                    ..Flags::default()
                },
                questions: vec![q.clone()],
                authorities: if answers.is_empty() {
                    vec![soa(300)]
                } else {
                    Vec::new()
                },
                answers,
                additionals: self.additionals.clone(),
            }
        }

        fn run(
            &mut self,
            uri: &str,
            cache: &mut DnsCache,
            now: Instant,
            f: IpFamilies,
        ) -> Vec<Target> {
            self.run_until(uri, cache, now, f).0
        }

        /// As `run`, with [`Resolution::expires`].
        fn run_until(
            &mut self,
            uri: &str,
            cache: &mut DnsCache,
            now: Instant,
            f: IpFamilies,
        ) -> (Vec<Target>, Option<Instant>) {
            let uri: Uri = uri.parse().unwrap();
            let mut r = Resolution::new(&uri, &LocateConfig::default(), f).unwrap();
            while let Some(q) = r.poll_question(now, cache) {
                assert!(self.asked.len() < 100, "{:?}", self.asked);
                let m = self.respond(&q);
                r.handle_response(now, cache, &q, &m);
            }
            (r.targets(&mut ChaCha8Rng::seed_from_u64(3)), r.expires())
        }
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "tests need an origin; only differences matter"
    )]
    fn origin() -> Instant {
        Instant::now()
    }

    fn t(transport: Transport, addr: &str) -> Target {
        Target {
            transport,
            addr: addr.parse().unwrap(),
        }
    }

    fn q(name: &str, rtype: RecordType) -> Question {
        Question {
            name: name.into(),
            rtype,
        }
    }

    fn carrier() -> Zone {
        Zone::new(vec![
            rec(
                "example.com",
                300,
                naptr(20, "SIP+D2U", "_sip._udp.example.com"),
            ),
            rec(
                "example.com",
                300,
                naptr(10, "SIP+D2T", "_sip._tcp.example.com."),
            ),
            rec("example.com", 300, naptr(5, "SIP+D2X", "_x.example.com")),
            rec(
                "_sip._tcp.example.com",
                120,
                srv(10, 5070, "edge1.example.com"),
            ),
            rec(
                "_sip._tcp.example.com",
                120,
                srv(20, 5070, "edge2.example.com"),
            ),
            rec(
                "_sip._udp.example.com",
                120,
                srv(10, 5060, "edge1.example.com"),
            ),
            rec("edge1.example.com", 60, a([192, 0, 2, 1])),
            rec(
                "edge1.example.com",
                60,
                RecordData::Aaaa(Ipv6Addr::LOCALHOST),
            ),
            rec("edge2.example.com", 60, a([192, 0, 2, 2])),
        ])
    }

    #[test]
    fn naptr_srv_and_addresses_in_rfc_3263_order() {
        let mut zone = carrier();
        let mut cache = DnsCache::default();
        let now = origin();
        let targets = zone.run("sip:bob@EXAMPLE.com", &mut cache, now, IpFamilies::Both);
        assert_eq!(
            zone.asked,
            vec![
                q("example.com", RecordType::NAPTR),
                q("_sip._tcp.example.com", RecordType::SRV),
                q("_sip._udp.example.com", RecordType::SRV),
                q("edge1.example.com", RecordType::A),
                q("edge1.example.com", RecordType::AAAA),
                q("edge2.example.com", RecordType::A),
                q("edge2.example.com", RecordType::AAAA),
            ]
        );
        assert_eq!(
            targets,
            vec![
                t(Transport::Tcp, "192.0.2.1:5070"),
                t(Transport::Tcp, "[::1]:5070"),
                t(Transport::Tcp, "192.0.2.2:5070"),
                t(Transport::Udp, "192.0.2.1:5060"),
                t(Transport::Udp, "[::1]:5060"),
            ]
        );
        // IPv4 only: no AAAA questions, no IPv6 targets
        let mut zone = carrier();
        let targets = zone.run(
            "sip:bob@example.com",
            &mut DnsCache::default(),
            now,
            IpFamilies::V4,
        );
        assert!(zone.asked.iter().all(|q| q.rtype != RecordType::AAAA));
        assert_eq!(targets.len(), 3);
    }

    #[test]
    fn cached_answers_are_used_until_their_ttl_runs_out() {
        let mut zone = carrier();
        let mut cache = DnsCache::default();
        let t0 = origin();
        let first = zone.run("sip:bob@example.com", &mut cache, t0, IpFamilies::V4);
        let asked = zone.asked.len();
        // the edge2 AAAA is negative (SOA minimum 300) and edge A records live 60 s
        let again = zone.run(
            "sip:bob@example.com",
            &mut cache,
            t0 + Duration::from_secs(59),
            IpFamilies::V4,
        );
        assert_eq!(zone.asked.len(), asked, "all from the cache");
        assert_eq!(again, first);
        zone.run(
            "sip:bob@example.com",
            &mut cache,
            t0 + Duration::from_secs(61),
            IpFamilies::V4,
        );
        assert_eq!(
            zone.asked[asked..],
            [
                q("edge1.example.com", RecordType::A),
                q("edge2.example.com", RecordType::A)
            ]
        );
        // the SRV records (120 s) and NAPTR (300 s) expire in turn
        zone.asked.clear();
        zone.run(
            "sip:bob@example.com",
            &mut cache,
            t0 + Duration::from_secs(301),
            IpFamilies::V4,
        );
        assert_eq!(zone.asked.len(), 5);
    }

    /// RFC 3263 §4.3 orders the targets from records with TTLs: the list is good until the
    /// first of them runs out, whether it came from the network or from the cache, and the
    /// resolution after that finds a record changed meanwhile.
    #[test]
    fn the_targets_expire_with_the_smallest_ttl_they_came_from() {
        let mut zone = carrier();
        let mut cache = DnsCache::default();
        let t0 = origin();
        let secs = |s: u64| t0 + Duration::from_secs(s);
        let uri = "sip:bob@example.com";
        // NAPTR 300 s, SRV 120 s, A 60 s: the A records bound the list.
        let (first, until) = zone.run_until(uri, &mut cache, t0, IpFamilies::V4);
        assert_eq!(until, Some(secs(60)));
        // From the cache, the records keep the instant they go stale (not now + TTL).
        let (again, until) = zone.run_until(uri, &mut cache, secs(30), IpFamilies::V4);
        assert_eq!((again, until), (first.clone(), Some(secs(60))));
        // The server edge2 moved; after the A records expire the new address is found, and
        // the cached SRV records (t0 + 120 s) bound the new list.
        for r in &mut zone.records {
            if r.name == "edge2.example.com" {
                r.data = a([192, 0, 2, 9]);
            }
        }
        let (moved, until) = zone.run_until(uri, &mut cache, secs(61), IpFamilies::V4);
        assert_eq!(until, Some(secs(120)));
        assert!(
            moved.contains(&t(Transport::Tcp, "192.0.2.9:5070")),
            "{moved:?}"
        );
        assert!(!moved.contains(&t(Transport::Tcp, "192.0.2.2:5070")));
        // A TTL of 0 is stale at once; max_ttl caps long ones.
        let mut zone = carrier();
        for r in &mut zone.records {
            if r.name == "_sip._udp.example.com" {
                r.ttl = 0;
            }
        }
        let (_, until) = zone.run_until(uri, &mut DnsCache::default(), t0, IpFamilies::V4);
        assert_eq!(until, Some(t0));
        let mut capped = DnsCache::default();
        capped.set_max_ttl(Duration::from_secs(5));
        let (_, until) = carrier().run_until(uri, &mut capped, t0, IpFamilies::V4);
        assert_eq!(until, Some(secs(5)));
        // Negative answers give no target and do not bound the list: a name with nothing
        // but A records lives as long as they do (900 s, past the 300 s of the negative
        // NAPTR and SRV answers), from the network and from the cache. An IP host uses no
        // record.
        let mut zone = Zone::new(vec![rec("pbx.example.com", 900, a([192, 0, 2, 7]))]);
        let mut negatives = DnsCache::default();
        for at in [t0, secs(10)] {
            let (targets, until) =
                zone.run_until("sip:pbx.example.com", &mut negatives, at, IpFamilies::V4);
            assert_eq!(targets, [t(Transport::Udp, "192.0.2.7:5060")]);
            assert_eq!(until, Some(secs(900)));
        }
        let (_, until) =
            Zone::new(Vec::new()).run_until("sip:192.0.2.1", &mut cache, t0, IpFamilies::V4);
        assert_eq!(until, None);
    }

    #[test]
    fn srv_additional_addresses_are_used_and_strangers_ignored() {
        let mut zone = carrier();
        zone.additionals = vec![
            rec("edge1.example.com", 60, a([192, 0, 2, 1])),
            rec("edge2.example.com", 60, a([192, 0, 2, 2])),
            // not an SRV target of any answer: must not be cached
            rec("bank.example.net", 60, a([203, 0, 113, 66])),
        ];
        let mut cache = DnsCache::default();
        let now = origin();
        zone.run("sip:bob@example.com", &mut cache, now, IpFamilies::V4);
        assert!(
            zone.asked.iter().all(|q| q.rtype != RecordType::A),
            "{:?}",
            zone.asked
        );
        assert_eq!(cache.get(now, "bank.example.net", RecordType::A), None);
    }

    #[test]
    fn negative_answers_cache_by_soa_and_fall_back_to_the_host() {
        // no NAPTR, no SRV: the host's A record on 5060
        let mut zone = Zone::new(vec![rec("pbx.example.org", 30, a([198, 51, 100, 5]))]);
        let mut cache = DnsCache::default();
        let t0 = origin();
        let targets = zone.run("sip:pbx.example.org", &mut cache, t0, IpFamilies::V4);
        assert_eq!(targets, vec![t(Transport::Udp, "198.51.100.5:5060")]);
        // negative answers kept for min(SOA TTL 600, MINIMUM 300)
        assert_eq!(
            cache.get(t0, "pbx.example.org", RecordType::NAPTR),
            Some(&[][..])
        );
        assert_eq!(
            cache.get(
                t0 + Duration::from_secs(300),
                "pbx.example.org",
                RecordType::NAPTR
            ),
            None
        );
        // without an SOA a negative answer is not cached (RFC 2308 §5)
        let mut nodata = zone.respond(&q("pbx.example.org", RecordType::SRV));
        nodata.authorities.clear();
        let mut cache = DnsCache::default();
        assert_eq!(
            cache.insert_response(t0, &q("x.example.org", RecordType::SRV), &nodata),
            Some(vec![])
        );
        assert!(cache.is_empty());
    }

    /// A host of dots only (`..`, an empty name once the root dots go) with a port is
    /// asked as the name `""`: its failed address questions end the plan (they used to be
    /// stored under another key than the one polled, and the same question came back
    /// forever).
    #[test]
    fn a_host_of_dots_ends() {
        let cache = DnsCache::default();
        let uri: Uri = "sip:a@..:5060".parse().unwrap();
        let mut r = Resolution::new(&uri, &LocateConfig::default(), IpFamilies::Both).unwrap();
        let mut asked = Vec::new();
        while let Some(question) = r.poll_question(origin(), &cache) {
            assert!(asked.len() < 10, "{asked:?}");
            r.handle_failure(&question);
            asked.push(question);
        }
        assert_eq!(asked, [q("", RecordType::A), q("", RecordType::AAAA)]);
        assert!(r.targets(&mut ChaCha8Rng::seed_from_u64(1)).is_empty());
    }

    #[test]
    fn server_failures_count_as_no_records_and_are_not_cached() {
        let mut cache = DnsCache::default();
        let now = origin();
        let uri: Uri = "sip:down.example.org:5080".parse().unwrap();
        let mut r = Resolution::new(&uri, &LocateConfig::default(), IpFamilies::V4).unwrap();
        let question = r.poll_question(now, &cache).unwrap();
        assert_eq!(
            question,
            q("down.example.org", RecordType::A),
            "an explicit port skips NAPTR and SRV"
        );
        let servfail = DnsMessage {
            flags: Flags {
                response: true,
                rcode: Rcode::SERVER_FAILURE,
                ..Flags::default()
            },
            answers: vec![rec("down.example.org", 60, a([192, 0, 2, 9]))],
            ..DnsMessage::default()
        };
        r.handle_response(now, &mut cache, &question, &servfail);
        assert_eq!(r.poll_question(now, &cache), None);
        assert!(r.targets(&mut ChaCha8Rng::seed_from_u64(1)).is_empty());
        assert!(cache.is_empty());
        assert_eq!(r.questions(), 1);
        // handle_failure the same
        let mut r = Resolution::new(&uri, &LocateConfig::default(), IpFamilies::Both).unwrap();
        while let Some(question) = r.poll_question(now, &cache) {
            r.handle_failure(&question);
        }
        assert_eq!(r.questions(), 2);
    }

    #[test]
    fn cname_chains_are_followed_within_a_bound() {
        let mut zone = Zone::new(vec![
            rec(
                "sip.example.com",
                300,
                RecordData::Cname("lb.example.net".into()),
            ),
            rec("lb.example.net", 20, a([192, 0, 2, 77])),
        ]);
        let mut cache = DnsCache::default();
        let now = origin();
        let targets = zone.run(
            "sip:sip.example.com;transport=udp",
            &mut cache,
            now,
            IpFamilies::V4,
        );
        // the transport parameter skips NAPTR: the SRV of that transport only, then A
        assert_eq!(
            zone.asked,
            vec![
                q("_sip._udp.sip.example.com", RecordType::SRV),
                q("sip.example.com", RecordType::A)
            ]
        );
        assert_eq!(targets, vec![t(Transport::Udp, "192.0.2.77:5060")]);
        // the chain's shortest TTL bounds the answer
        assert!(
            cache
                .get(
                    now + Duration::from_secs(21),
                    "sip.example.com",
                    RecordType::A
                )
                .is_none()
        );
        // a CNAME loop ends
        let looped = DnsMessage {
            flags: Flags {
                response: true,
                ..Flags::default()
            },
            answers: vec![
                rec("a.example", 60, RecordData::Cname("b.example".into())),
                rec("b.example", 60, RecordData::Cname("a.example".into())),
            ],
            ..DnsMessage::default()
        };
        assert_eq!(
            cache.insert_response(now, &q("a.example", RecordType::A), &looped),
            Some(vec![])
        );
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_soonest_expiry() {
        let mut cache = DnsCache::new(3);
        let now = origin();
        for (i, ttl) in [(1u8, 50), (2, 10), (3, 40)] {
            cache.insert(
                now,
                &format!("h{i}.example"),
                RecordType::A,
                vec![a([192, 0, 2, i])],
                ttl,
            );
        }
        cache.insert(
            now,
            "h4.example",
            RecordType::A,
            vec![a([192, 0, 2, 4])],
            30,
        );
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(now, "h2.example", RecordType::A).is_none(),
            "10 s entry evicted"
        );
        // expired entries go first
        cache.insert(
            now + Duration::from_secs(35),
            "h5.example",
            RecordType::A,
            vec![],
            30,
        );
        assert!(
            cache
                .get(now + Duration::from_secs(35), "h1.example", RecordType::A)
                .is_some()
        );
        assert!(
            cache
                .get(now + Duration::from_secs(35), "H3.Example.", RecordType::A)
                .is_some()
        );
        // TTLs are capped, and 0 keeps nothing
        cache.set_max_ttl(Duration::from_secs(5));
        cache.insert(now, "h6.example", RecordType::A, vec![], 86_400);
        assert!(
            cache
                .get(now + Duration::from_secs(6), "h6.example", RecordType::A)
                .is_none()
        );
        let mut cache = DnsCache::new(3);
        cache.insert(now, "h7.example", RecordType::A, vec![], 0);
        assert!(cache.is_empty());
    }
}
