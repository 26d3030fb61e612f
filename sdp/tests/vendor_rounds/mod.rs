//! What the vendor-round tests share: reading a round's files, the check that its README
//! lists every file, and telox answering an offer.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, MediaCapabilities, OfferAnswer, ParseOptions, Sdp, SessionConfig, SrtpPolicy,
};

/// The folder of round `round` (`round2`, `round3`).
fn dir(round: &str) -> String {
    format!(
        "{}/tests/data/vendor-style/{round}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The bytes of `name` in round `round`.
pub(crate) fn bytes(round: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/{name}", dir(round));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses `name` with `opts` and checks that it writes back byte for byte.
pub(crate) fn parse(round: &str, name: &str, opts: &ParseOptions) -> Sdp {
    let raw = bytes(round, name);
    let sdp = Sdp::parse_with(raw.clone(), opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(sdp.to_bytes(), raw.as_slice(), "{name}: not byte-exact");
    sdp
}

/// Checks that the round's README names every `.sdp` file of it; returns how many there are.
pub(crate) fn readme_lists_every_file(round: &str) -> usize {
    let dir = dir(round);
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".sdp") {
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} not in README"
            );
            n += 1;
        }
    }
    n
}

/// The answer telox (at 203.0.113.5, audio port 40000, with `codecs` in that order and SRTP
/// as `srtp` says) gives to `offer`, with the session that made it.
pub(crate) fn answer(offer: &Sdp, codecs: &[&str], srtp: SrtpPolicy) -> (OfferAnswer, Sdp) {
    let codecs = codecs.iter().map(|c| Codec::by_name(c).unwrap()).collect();
    let caps = MediaCapabilities::audio(40000, codecs).with_srtp(srtp);
    let config = SessionConfig::new("203.0.113.5".parse().unwrap(), caps);
    let mut session = OfferAnswer::new(config, &mut ChaCha8Rng::seed_from_u64(9));
    let answer = session
        .handle_offer(offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_or_else(|e| panic!("answer: {e}"));
    (session, answer)
}
