//! Harnesses shared by the cargo-fuzz targets and the corpus replay test.

use rand::SeedableRng;

use crate::{Codec, MediaCapabilities, OfferAnswer, ParseOptions, Sdp, SessionConfig, SrtpPolicy};

/// Parses `data` strictly and leniently; whatever parses must write back to bytes that
/// parse strictly to the same model, and a strict parse of canonical bytes round-trips
/// byte for byte.
///
/// # Panics
/// When a round trip fails (that is the bug the fuzzer looks for).
pub fn parse(data: &[u8]) {
    if let Ok(sdp) = Sdp::parse(data.to_vec()) {
        assert_eq!(
            sdp.to_bytes(),
            data,
            "strict parse must round-trip byte for byte"
        );
    }
    if let Ok(sdp) = Sdp::parse_with(data.to_vec(), &ParseOptions::lenient()) {
        let bytes = sdp.to_bytes();
        let again = Sdp::parse_with(bytes.clone(), &ParseOptions::lenient());
        assert_eq!(
            again.as_ref(),
            Ok(&sdp),
            "written form must parse to the same model"
        );
        assert_eq!(again.map(|s| s.to_bytes()), Ok(bytes));
    }
}

/// Parses `data` leniently as an offer and answers it with every codec and optional SRTP;
/// an answer must parse and negotiate from the offerer's side too. Returns whether an
/// answer was produced.
///
/// # Panics
/// When the produced answer does not parse or does not fit the offer.
pub fn offer_answer(data: &[u8]) -> bool {
    let Ok(offer) = Sdp::parse_with(data.to_vec(), &ParseOptions::lenient()) else {
        return false;
    };
    let caps = MediaCapabilities::audio(
        4000,
        ["opus", "pcmu", "pcma", "g722", "telephone-event"]
            .into_iter()
            .filter_map(Codec::by_name)
            .collect(),
    )
    .with_srtp(SrtpPolicy::Optional);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let config = SessionConfig::new(std::net::Ipv4Addr::LOCALHOST.into(), caps);
    let mut session = OfferAnswer::new(config, &mut rng);
    if let Ok(answer) = session.handle_offer(&offer, &mut rng) {
        let bytes = answer.to_bytes();
        let reparsed = Sdp::parse(bytes);
        assert_eq!(
            reparsed.as_ref(),
            Ok(&answer),
            "our answer must parse strictly"
        );
        assert!(crate::negotiate(&offer, &answer, crate::Role::Offerer).is_ok());
        return true;
    }
    false
}
