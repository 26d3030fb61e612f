//! `Driver::next_input` is cancel-safe: a UAS whose loop races it in `tokio::select!`
//! against a 1 ms ticker (which wins most turns) still answers every one of 60 OPTIONS sent
//! to it over UDP and over one TCP connection, 20 at a time.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

use std::collections::HashSet;
use std::time::Duration;

use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To};
use telox_sip_core::msg::{Method, Request};
use telox_sip_core::tokio::{Driver, DriverConfig};
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_sip_core::uri::Uri;
use ua_support::net::clock;

mod ua_support;

fn options(ua: &mut UserAgent, to: &Uri, n: u32) -> Request {
    let from: Uri = "sip:uac@127.0.0.1".parse().unwrap();
    Request::builder(Method::Options, to.clone())
        .header(ua.via().unwrap())
        .header(MaxForwards(70))
        .header(From::new(from).with_tag(&format!("t{n}")))
        .header(To::new(to.clone()))
        .header(CallId::new(&format!("select-{n}@127.0.0.1")).unwrap())
        .header(CSeq::new(1, Method::Options))
        .build()
}

#[tokio::test]
async fn next_input_in_select_loses_nothing() {
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tcp = true;
    let mut server = Driver::bind(config).await.unwrap();
    let addr = server.local_addr();
    let mut uas = UserAgent::new(UaConfig::new(addr, "uas", 3));
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let (mut inputs, mut ticks) = (0u32, 0u32);
        loop {
            server.flush(&mut uas).await.unwrap();
            tokio::select! {
                input = server.next_input(uas.poll_timeout()) => {
                    server.handle(&mut uas, input.unwrap()).await.unwrap();
                    inputs += 1;
                }
                _ = tick.tick() => ticks += 1,
                _ = &mut stopped => return (inputs, ticks),
            }
            while uas.poll_event().is_some() {}
        }
    });

    let mut client = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let mut ua = UserAgent::new(UaConfig::new(client.local_addr(), "uac", 4));
    let to: Uri = format!("sip:uas@{addr}").parse().unwrap();
    let mut answered = 0;
    for (round, transport) in [Transport::Udp, Transport::Tcp, Transport::Udp]
        .into_iter()
        .enumerate()
    {
        let target = Target { transport, addr };
        let mut pending = HashSet::new();
        for i in 0..20 {
            let n = u32::try_from(round * 20 + i).unwrap();
            let request = options(&mut ua, &to, n);
            pending.insert(ua.send_request(clock(), request, target).unwrap());
        }
        tokio::time::timeout(Duration::from_secs(10), async {
            while !pending.is_empty() {
                client.step(&mut ua).await.unwrap();
                while let Some(event) = ua.poll_event() {
                    if let UaEvent::Response { key, status, .. } = event {
                        assert_eq!(status, 200, "{transport:?}");
                        assert!(pending.remove(&key));
                        answered += 1;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} OPTIONS over {transport:?} unanswered", pending.len()));
    }
    assert_eq!(answered, 60);
    stop.send(()).unwrap();
    let (inputs, ticks) = task.await.unwrap();
    // The ticker really competed with the driver's wait.
    assert!(ticks > 0 && inputs >= 60, "inputs {inputs}, ticks {ticks}");
}
