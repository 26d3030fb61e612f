//! RFC 4475 (SIP torture tests): every message of Appendix A is classified as the RFC says,
//! with the field checks its section calls out. Data: tests/data/rfc4475 (see README.md).

use bytes::Bytes;
use telox_sip_core::header::{
    CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, ProxyRequire, Require,
    To, Via,
};
use telox_sip_core::{
    HeaderName, Message, Method, ParseError, Request, Response, Scheme, StatusCode,
};

fn load(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/data/rfc4475/{name}.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Parses and validates; panics with the file name on failure.
fn valid(name: &str) -> Message {
    let raw = load(name);
    let msg = Message::parse(raw.clone()).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
    msg.validate()
        .unwrap_or_else(|e| panic!("{name}: validate: {e}"));
    // unmodified messages serialize back byte-exact (up to the end of the body)
    let out = msg.to_bytes();
    assert_eq!(&raw[..out.len()], &out[..], "{name}: not byte-exact");
    msg
}

fn request(name: &str) -> Request {
    match valid(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name}: expected a request"),
    }
}

fn response(name: &str) -> Response {
    match valid(name) {
        Message::Response(r) => r,
        Message::Request(_) => panic!("{name}: expected a response"),
    }
}

/// The error of parse-then-validate.
fn invalid(name: &str) -> ParseError {
    match Message::parse(load(name)) {
        Err(e) => e,
        Ok(m) => match m.validate() {
            Err(e) => e,
            Ok(()) => panic!("{name}: accepted but RFC 4475 says invalid"),
        },
    }
}

fn bad_header(name: &str, allowed: &[HeaderName]) {
    let e = invalid(name);
    match &e {
        ParseError::BadHeader { name: h, .. } => {
            assert!(
                allowed.contains(h),
                "{name}: bad {h}, expected one of {allowed:?}"
            );
        }
        other => panic!("{name}: expected BadHeader, got {other:?}"),
    }
    assert_eq!(e.status_code(), StatusCode::BAD_REQUEST, "{name}");
}

#[test]
fn classification_covers_the_whole_archive() {
    let index = std::fs::read_to_string(format!(
        "{}/tests/data/rfc4475/INDEX.tsv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut counts = [0usize; 2];
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, class) = (cols[0], cols[2]);
        let name = file.trim_end_matches(".dat");
        let raw = load(name);
        let result = Message::parse(raw).and_then(|m| m.validate().map(|()| m));
        match class {
            "valid" | "valid-but-odd" => {
                assert!(result.is_ok(), "{file} ({class}): {:?}", result.err());
                counts[0] += 1;
            }
            "invalid" => {
                assert!(result.is_err(), "{file}: accepted but invalid");
                counts[1] += 1;
            }
            other => panic!("unknown class {other}"),
        }
    }
    // 13 valid + 14 valid-but-odd, 23 invalid (incl. the archive's extra test.dat)
    assert_eq!(counts, [27, 23]);
}

// 3.1.1 Valid messages

#[test]
fn wsinv_short_tortuous_invite() {
    let r = request("wsinv");
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.uri().param("unknownparam"), Some(None));
    let to = r.header::<To>().unwrap().unwrap();
    assert_eq!(to.uri().as_str(), "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = r.header::<From>().unwrap().unwrap();
    assert_eq!(from.display_name().unwrap(), "J Rosenberg \\\"");
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(r.header::<MaxForwards>().unwrap().unwrap(), MaxForwards(68));
    let cseq = r.header::<CSeq>().unwrap().unwrap();
    assert_eq!((cseq.seq(), cseq.method()), (9, &Method::Invite));
    let vias: Vec<Via> = r.header_all::<Via>().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!((vias[0].transport(), vias[0].host()), ("UDP", "192.0.2.2"));
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(
        (vias[1].transport(), vias[1].host()),
        ("TCP", "spindle.example.com")
    );
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host(), "192.168.255.111");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    let contact = r.header::<Contact>().unwrap().unwrap();
    let addr = contact.addr().unwrap();
    assert_eq!(addr.display_name().unwrap(), "Quoted string \"\"");
    assert_eq!(addr.params().get("newparam"), Some(Some("newvalue")));
    assert_eq!(contact.q(), Some(330));
    assert_eq!(
        r.headers().named(HeaderName::Subject).next().unwrap().value,
        b""
    );
    let nf = r.headers().named_str("newfangledheader").next().unwrap();
    assert_eq!(nf.value, b"newfangled value\r\n continued newfangled value");
    let odd = r
        .headers()
        .named_str("UnknownHeaderWithUnusualValue")
        .next()
        .unwrap();
    assert_eq!(odd.value, b";;,,;;,;");
    assert_eq!(r.body().len(), 150);
}

#[test]
fn intmeth_extension_method_and_odd_tokens() {
    let r = request("intmeth");
    let m = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(
        r.method(),
        &Method::Extension(Box::new(Bytes::from_static(m.as_bytes())))
    );
    assert_eq!(r.method().as_str(), m);
    let uri = r.uri();
    assert_eq!(
        uri.user(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(uri.host(), "example.com");
    assert_eq!(r.header::<CSeq>().unwrap().unwrap().method().as_str(), m);
    assert_eq!(
        r.header::<Via>().unwrap().unwrap().branch(),
        Some("z9hG4bK-.!%66*_+`'~")
    );
    let to = r.header::<To>().unwrap().unwrap();
    assert_eq!(to.display_name().unwrap(), "BEL:\x07 NUL:\0 DEL:\x7f");
    let from = r.header::<From>().unwrap().unwrap();
    assert_eq!(
        from.display_name_raw(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert!(from.params().get("fromParam''~+*_!.-%").is_some());
    assert_eq!(
        r.header::<CallId>().unwrap().unwrap().as_str(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    let ext = r
        .headers()
        .named_str("extensionHeader-!.%*+_`'~")
        .next()
        .unwrap();
    assert_eq!(ext.value_str(), Some("\u{feff}大停電"));
    assert_eq!(
        r.header::<MaxForwards>().unwrap().unwrap(),
        MaxForwards(255)
    );
}

#[test]
fn esc01_escaped_user_parts_compare_equal() {
    let r = request("esc01");
    assert_eq!(r.uri().user(), Some("sips%3Auser%40example.com"));
    assert_eq!(
        r.uri().user_unescaped().unwrap().as_ref(),
        b"sips:user@example.com"
    );
    assert_eq!(r.uri().host(), "example.net");
    let to = r.header::<To>().unwrap().unwrap();
    assert_eq!(to.uri().user(), Some("%75se%72"));
    assert_eq!(to.uri().user_unescaped().unwrap().as_ref(), b"user");
    let from = r.header::<From>().unwrap().unwrap();
    assert_eq!(
        from.uri().user_unescaped().unwrap().as_ref(),
        b"I have spaces"
    );
    let contact = r.header::<Contact>().unwrap().unwrap();
    let c = contact.uri().unwrap();
    assert_eq!(c.user_unescaped().unwrap().as_ref(), b"caller");
    assert_eq!(c.param("%6C%72"), Some(None));
    assert_eq!(c.param("n%61me"), Some(Some("v%61lue%25%34%31")));
    // compact forms i: and C:
    assert!(r.header::<CallId>().is_some());
    assert!(
        r.header::<ContentType>()
            .unwrap()
            .unwrap()
            .is("application", "sdp")
    );
}

#[test]
fn escnull_escaped_nul_is_carried() {
    let r = request("escnull");
    let to = r.header::<To>().unwrap().unwrap();
    assert_eq!(to.uri().user_unescaped().unwrap().as_ref(), b"null-\0-null");
    let contacts: Vec<Contact> = r.header_all::<Contact>().map(Result::unwrap).collect();
    assert_eq!(contacts.len(), 2);
    assert_eq!(
        contacts[0]
            .uri()
            .unwrap()
            .user_unescaped()
            .unwrap()
            .as_ref(),
        b"\0"
    );
    assert_eq!(
        contacts[1]
            .uri()
            .unwrap()
            .user_unescaped()
            .unwrap()
            .as_ref(),
        b"\0\0"
    );
    assert_eq!(
        r.header::<ContentLength>().unwrap().unwrap(),
        ContentLength(0)
    );
}

#[test]
fn esc02_percent_is_not_an_escape_everywhere() {
    let r = request("esc02");
    assert_eq!(
        r.method(),
        &Method::Extension(Box::new(Bytes::from_static(b"RE%47IST%45R")))
    );
    assert_ne!(r.method(), &Method::Register);
    let to = r.header::<To>().unwrap().unwrap();
    assert_eq!(to.display_name().unwrap(), "%Z%45");
    assert_eq!(
        r.header::<Via>().unwrap().unwrap().branch(),
        Some("z9hG4bK209%fzsnel234")
    );
    // C%6Fntact is an extension header, not Contact
    assert_eq!(r.header_all::<Contact>().count(), 2);
    assert!(r.headers().named_str("C%6Fntact").next().is_some());
}

#[test]
fn lwsdisp_display_name_without_space() {
    let r = request("lwsdisp");
    let from = r.header::<From>().unwrap().unwrap();
    assert_eq!(from.display_name().unwrap(), "caller");
    assert_eq!(from.uri().as_str(), "sip:caller@example.com");
}

#[test]
fn longreq_long_values() {
    let r = request("longreq");
    let to = r.header::<To>().unwrap().unwrap();
    assert!(to.display_name().unwrap().contains("extremeextreme"));
    assert_eq!(to.uri().port(), Some(6000));
    let from = r.header::<From>().unwrap().unwrap();
    assert_eq!(from.tag().map(str::len), Some(155));
    assert_eq!(r.header_all::<Via>().count(), 34);
    assert_eq!(r.body().len(), 150);
}

#[test]
fn dblreq_trailing_request_is_discarded() {
    let raw = load("dblreq");
    let r = request("dblreq");
    assert_eq!(r.method(), &Method::Register);
    assert!(r.body().is_empty());
    assert!(r.to_bytes().len() < raw.len());
    assert!(r.to_bytes().ends_with(b"Content-Length: 0\r\n\r\n"));
}

#[test]
fn semiuri_semicolon_in_user() {
    let r = request("semiuri");
    assert_eq!(r.uri().user(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri().host(), "example.com");
    assert_eq!(r.uri().params().count(), 0);
}

#[test]
fn transports_in_via() {
    let r = request("transports");
    let t: Vec<String> = r
        .header_all::<Via>()
        .map(|v| v.unwrap().transport().to_owned())
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn mpart01_binary_body() {
    let r = request("mpart01");
    assert_eq!(r.body().len(), 553);
    assert!(r.body().contains(&b'\n'));
    let ct = r.header::<ContentType>().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.params().get("boundary"), Some(Some("7a9cbec02ceef655")));
}

#[test]
fn unreason_utf8_reason_phrase() {
    let r = response("unreason");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.reason().starts_with("= 2**3 * 5**2 "));
    assert!(r.reason().contains('\u{43d}'));
}

#[test]
fn noreason_empty_reason_phrase() {
    let r = response("noreason");
    assert_eq!(r.status(), StatusCode::TRYING);
    assert_eq!(r.reason(), "");
}

// 3.1.2 Invalid messages

#[test]
fn badinv01_empty_list_elements() {
    bad_header("badinv01", &[HeaderName::Via, HeaderName::Contact]);
}

#[test]
fn clerr_content_length_too_large() {
    let e = invalid("clerr");
    assert!(
        matches!(e, ParseError::BodyTruncated { declared: 9999, .. }),
        "{e:?}"
    );
    assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
}

#[test]
fn ncl_negative_content_length() {
    bad_header("ncl", &[HeaderName::ContentLength]);
}

#[test]
fn scalar02_out_of_range_numbers() {
    bad_header(
        "scalar02",
        &[
            HeaderName::CSeq,
            HeaderName::MaxForwards,
            HeaderName::Expires,
            HeaderName::Contact,
        ],
    );
    // and each of them alone
    assert!(<CSeq as telox_sip_core::Header>::parse_str("36893488147419103232 REGISTER").is_err());
    assert!(<MaxForwards as telox_sip_core::Header>::parse_str("300").is_err());
    assert!(
        <Contact as telox_sip_core::Header>::parse_str(
            "<sip:user@host129.example.com>\r\n  ;expires=280297596632815"
        )
        .is_err()
    );
}

#[test]
fn scalarlg_out_of_range_numbers_in_response() {
    bad_header(
        "scalarlg",
        &[
            HeaderName::CSeq,
            HeaderName::RetryAfter,
            HeaderName::Warning,
        ],
    );
}

#[test]
fn quotbal_unterminated_quote() {
    let e = invalid("quotbal");
    assert!(
        matches!(
            e,
            ParseError::BadHeader {
                name: HeaderName::To,
                error: telox_sip_core::HeaderError::UnterminatedQuote { .. },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn request_line_errors() {
    assert!(matches!(
        invalid("ltgtruri"),
        ParseError::BadRequestUri { at: 7 }
    ));
    assert!(matches!(
        invalid("lwsruri"),
        ParseError::BadStartLine { .. }
    ));
    assert!(matches!(
        invalid("lwsstart"),
        ParseError::BadStartLine { .. }
    ));
    assert!(matches!(invalid("trws"), ParseError::BadStartLine { .. }));
    assert!(matches!(
        invalid("escruri"),
        ParseError::BadRequestUri { .. }
    ));
    assert!(matches!(invalid("test"), ParseError::BadStartLine { .. }));
    for f in ["ltgtruri", "lwsruri", "lwsstart", "trws", "escruri", "test"] {
        assert_eq!(invalid(f).status_code(), StatusCode::BAD_REQUEST, "{f}");
    }
}

#[test]
fn baddate_non_gmt() {
    bad_header("baddate", &[HeaderName::Date]);
}

#[test]
fn regbadct_uri_with_headers_outside_brackets() {
    bad_header("regbadct", &[HeaderName::Contact]);
}

#[test]
fn badaspec_whitespace_in_addr_spec() {
    bad_header("badaspec", &[HeaderName::To]);
}

#[test]
fn baddn_unquoted_display_name_with_comma() {
    bad_header("baddn", &[HeaderName::From, HeaderName::To]);
}

#[test]
fn badvers_is_505() {
    let e = invalid("badvers");
    assert_eq!(e, ParseError::UnsupportedVersion);
    assert_eq!(e.status_code(), StatusCode::VERSION_NOT_SUPPORTED);
}

#[test]
fn mismatch_cseq_method() {
    assert_eq!(invalid("mismatch01"), ParseError::CSeqMethodMismatch);
    assert_eq!(invalid("mismatch02"), ParseError::CSeqMethodMismatch);
}

#[test]
fn bigcode_status_out_of_range() {
    assert!(matches!(
        invalid("bigcode"),
        ParseError::BadStatusCode { at: 8 }
    ));
}

// 3.3 Transaction layer and application layer semantics

#[test]
fn insuf_missing_headers() {
    assert!(matches!(invalid("insuf"), ParseError::MissingHeader(_)));
}

#[test]
fn multi01_duplicate_single_headers() {
    assert!(matches!(
        invalid("multi01"),
        ParseError::DuplicateHeader(
            HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq
        )
    ));
}

#[test]
fn mcl01_conflicting_content_length() {
    assert_eq!(
        invalid("mcl01"),
        ParseError::DuplicateHeader(HeaderName::ContentLength)
    );
}

#[test]
fn valid_but_odd_messages_parse_with_the_facts_an_application_needs() {
    // 3.2.1: the branch is only the magic cookie
    let r = request("badbranch");
    assert_eq!(
        r.header::<Via>().unwrap().unwrap().branch(),
        Some("z9hG4bK")
    );
    // 3.3.2 / 3.3.3: schemes a UAS answers with 416
    assert_eq!(request("unkscm").uri().scheme(), Scheme::Other);
    assert_eq!(request("unkscm").uri().opaque(), "totallyopaquecontent");
    assert_eq!(request("novelsc").uri().scheme(), Scheme::Other);
    assert_eq!(request("novelsc").uri().scheme_str(), "soap.beep");
    // 3.3.4: unknown schemes in To/From/Contact are fine
    let r = request("unksm2");
    assert_eq!(
        r.header::<To>().unwrap().unwrap().uri().scheme(),
        Scheme::Other
    );
    // 3.3.5: option tags a UAS answers with 420
    let r = request("bext01");
    assert!(
        r.header::<Require>()
            .unwrap()
            .unwrap()
            .contains("nothingSupportsThis")
    );
    assert!(
        r.header::<ProxyRequire>()
            .unwrap()
            .unwrap()
            .contains("noProxiesSupportThis")
    );
    // 3.3.6: unknown body type (415)
    let r = request("invut");
    assert!(
        r.header::<ContentType>()
            .unwrap()
            .unwrap()
            .is("application", "unknownformat")
    );
    // 3.3.7: unknown authorization scheme
    let r = request("regaut01");
    let a = r
        .header::<telox_sip_core::header::Authorization>()
        .unwrap()
        .unwrap();
    assert_eq!(a.scheme(), "NoOneKnowsThisScheme");
    // 3.3.10: broadcast address in the second Via
    let r = response("bcast");
    assert_eq!(
        r.header_all::<Via>().nth(1).unwrap().unwrap().host(),
        "255.255.255.255"
    );
    // 3.3.11: Max-Forwards 0
    assert_eq!(
        request("zeromf").header::<MaxForwards>().unwrap().unwrap(),
        MaxForwards(0)
    );
    // 3.3.12 / 3.3.13: contact parameter vs URI parameter
    let c = request("cparam01").header::<Contact>().unwrap().unwrap();
    assert!(c.addr().unwrap().params().contains("unknownparam"));
    assert_eq!(c.uri().unwrap().param("unknownparam"), None);
    let c = request("cparam02").header::<Contact>().unwrap().unwrap();
    assert!(!c.addr().unwrap().params().contains("unknownparam"));
    assert_eq!(c.uri().unwrap().param("unknownparam"), Some(None));
    // 3.3.14: escaped Route header inside a bracketed Contact URI
    let c = request("regescrt").header::<Contact>().unwrap().unwrap();
    assert_eq!(
        c.uri().unwrap().headers(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
    // 3.3.15: Accept lists an unknown type only
    let r = request("sdp01");
    assert_eq!(
        r.headers().named(HeaderName::Accept).next().unwrap().value,
        b"text/nobodyKnowsThis"
    );
    // 3.4.1: RFC 2543 style
    let r = request("inv2543");
    assert!(!r.header::<Via>().unwrap().unwrap().has_rfc3261_branch());
    assert!(r.header::<MaxForwards>().is_none());
    assert_eq!(r.header::<From>().unwrap().unwrap().tag(), None);
}
