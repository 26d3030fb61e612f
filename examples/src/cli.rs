//! Hand-written command-line parsing shared by the programs.
//!
//! Flags are `--name value`, `--name=value` or a bare `--name` switch; anything else is a
//! positional argument. The parser knows which flags take a value (so `--auto-answer` does not
//! swallow the next argument) and rejects flags it was not told about, with an error that names
//! the flag.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// An error in the command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CliError {
    /// A flag the program does not know.
    #[error("unknown flag --{0}")]
    UnknownFlag(String),
    /// A flag that needs a value was last on the line.
    #[error("flag --{0} needs a value")]
    MissingValue(String),
    /// A switch was given a value (`--auto-answer=yes`).
    #[error("flag --{0} takes no value")]
    UnexpectedValue(String),
    /// A value that does not parse as what the flag expects.
    #[error("bad value for --{flag}: {value:?} ({why})")]
    BadValue {
        /// The flag.
        flag: String,
        /// The value as given.
        value: String,
        /// What was expected.
        why: &'static str,
    },
    /// A required flag is absent.
    #[error("missing required flag --{0}")]
    Required(String),
}

/// The flags a program accepts: which take values and which are switches.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    valued: Vec<&'static str>,
    switches: Vec<&'static str>,
}

impl Spec {
    /// An empty spec (no flags accepted).
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares flags that take a value (may be repeated on the command line).
    pub fn values(mut self, names: &[&'static str]) -> Self {
        self.valued.extend_from_slice(names);
        self
    }

    /// Declares switches (flags without a value).
    pub fn switches(mut self, names: &[&'static str]) -> Self {
        self.switches.extend_from_slice(names);
        self
    }

    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// [`CliError::UnknownFlag`], [`CliError::MissingValue`] or [`CliError::UnexpectedValue`].
    pub fn parse<I, S>(&self, args: I) -> Result<Args, CliError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Args::default();
        let mut it = args.into_iter().map(Into::into);
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                out.positional.push(arg);
                continue;
            };
            if flag.is_empty() {
                // `--` ends the flags.
                out.positional.extend(it.by_ref());
                break;
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (flag.to_owned(), None),
            };
            if self.switches.contains(&name.as_str()) {
                if inline.is_some() {
                    return Err(CliError::UnexpectedValue(name));
                }
                out.switches.push(name);
            } else if self.valued.contains(&name.as_str()) {
                let value = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .ok_or_else(|| CliError::MissingValue(name.clone()))?,
                };
                out.values.entry(name).or_default().push(value);
            } else {
                return Err(CliError::UnknownFlag(name));
            }
        }
        Ok(out)
    }
}

/// A parsed command line.
#[derive(Clone, Debug, Default)]
pub struct Args {
    values: BTreeMap<String, Vec<String>>,
    switches: Vec<String>,
    /// Arguments that are not flags, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Whether switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// The last value of flag `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable flag, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// The value of `name` parsed with `FromStr`, or `None` when absent.
    ///
    /// # Errors
    /// [`CliError::BadValue`] when the value does not parse.
    pub fn parsed<T: FromStr>(&self, name: &str, why: &'static str) -> Result<Option<T>, CliError> {
        self.value(name)
            .map(|v| {
                v.parse::<T>().map_err(|_| CliError::BadValue {
                    flag: name.to_owned(),
                    value: v.to_owned(),
                    why,
                })
            })
            .transpose()
    }

    /// The value of `name` parsed, or `default` when absent.
    ///
    /// # Errors
    /// [`CliError::BadValue`] when the value does not parse.
    pub fn parsed_or<T: FromStr>(
        &self,
        name: &str,
        default: T,
        why: &'static str,
    ) -> Result<T, CliError> {
        Ok(self.parsed(name, why)?.unwrap_or(default))
    }

    /// The value of `name` as a socket address (`127.0.0.1:5060`).
    ///
    /// # Errors
    /// [`CliError::BadValue`] when the value is not an address.
    pub fn addr(&self, name: &str) -> Result<Option<SocketAddr>, CliError> {
        self.parsed(name, "expected IP:PORT")
    }

    /// The value of `name` as a duration (`5s`, `500ms`, `2m`, or plain seconds).
    ///
    /// # Errors
    /// [`CliError::BadValue`] when the value is not a duration.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, CliError> {
        self.value(name)
            .map(|v| {
                parse_duration(v).ok_or_else(|| CliError::BadValue {
                    flag: name.to_owned(),
                    value: v.to_owned(),
                    why: "expected a duration such as 5s, 500ms or 2m",
                })
            })
            .transpose()
    }

    /// The value of `name`, or [`CliError::Required`].
    ///
    /// # Errors
    /// [`CliError::Required`] when absent.
    pub fn required(&self, name: &str) -> Result<&str, CliError> {
        self.value(name)
            .ok_or_else(|| CliError::Required(name.to_owned()))
    }
}

/// Parses `5s`, `500ms`, `2m`, `1.5s` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 || v * scale > 1.0e9 {
        return None;
    }
    Some(Duration::from_secs_f64(v * scale))
}

/// An IP network in CIDR notation (`127.0.0.0/8`, `::1/128`; a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Cidr {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length in bits.
    pub prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside this network (an IPv4 address never matches an IPv6 network;
    /// an IPv4-mapped IPv6 address, as a dual-stack socket reports an IPv4 peer, is its IPv4
    /// address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| "bad address")?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().map_err(|_| "bad prefix length")?,
            None => max,
        };
        if prefix > max {
            return Err("prefix length too long");
        }
        // `::ffff:a.b.c.d/n` (n >= 96) is the IPv4 network a.b.c.d/(n - 96): peers are
        // matched as IPv4, so a mapped network written so would never match.
        if let IpAddr::V6(v6) = addr
            && let Some(v4) = v6.to_ipv4_mapped()
            && prefix >= 96
        {
            return Ok(Self {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(Self { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::new()
            .values(&["listen", "trunk", "duration"])
            .switches(&["auto-answer"])
    }

    #[test]
    fn values_switches_and_positionals() {
        let a = spec()
            .parse([
                "--listen",
                "127.0.0.1:5070",
                "--auto-answer",
                "x",
                "--trunk=1.2.3.4:5",
                "--trunk",
                "5.6.7.8:9",
            ])
            .unwrap();
        assert_eq!(
            a.addr("listen").unwrap(),
            Some("127.0.0.1:5070".parse().unwrap())
        );
        assert!(a.flag("auto-answer"));
        assert!(!a.flag("listen"));
        assert_eq!(a.all("trunk"), ["1.2.3.4:5", "5.6.7.8:9"]);
        assert_eq!(a.positional, ["x"]);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            spec().parse(["--nope"]).unwrap_err(),
            CliError::UnknownFlag("nope".into())
        );
        assert_eq!(
            spec().parse(["--listen"]).unwrap_err(),
            CliError::MissingValue("listen".into())
        );
        assert_eq!(
            spec().parse(["--auto-answer=1"]).unwrap_err(),
            CliError::UnexpectedValue("auto-answer".into())
        );
        let a = spec().parse(["--listen", "nothost"]).unwrap();
        assert!(matches!(a.addr("listen"), Err(CliError::BadValue { .. })));
        assert_eq!(
            a.required("trunk").unwrap_err(),
            CliError::Required("trunk".into())
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("NaNs"), None);
        assert_eq!(parse_duration("abc"), None);
    }

    #[test]
    fn cidr_matching() {
        let c: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(!c.contains("128.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert_eq!(one.prefix, 128);
        assert!(one.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        // IPv4-mapped forms, of the network and of the peer, are IPv4
        let mapped: Cidr = "::ffff:203.0.113.0/120".parse().unwrap();
        assert_eq!(
            (mapped.addr, mapped.prefix),
            ("203.0.113.0".parse().unwrap(), 24)
        );
        assert!(mapped.contains("203.0.113.9".parse().unwrap()));
        assert!(mapped.contains("::ffff:203.0.113.9".parse().unwrap()));
        let host: Cidr = "::ffff:198.51.100.7".parse().unwrap();
        assert_eq!(host.prefix, 32);
        assert!(host.contains("198.51.100.7".parse().unwrap()));
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.contains("::ffff:128.0.0.1".parse().unwrap()));
    }
}
