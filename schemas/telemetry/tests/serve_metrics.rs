//! The pipeline's way: `/metrics` served from the telemetry thread. In a
//! test binary of its own, since a process installs one recorder.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    time::{Duration, Instant},
};

/// GET /metrics, retried while the exporter thread starts listening.
fn scrape(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Ok(mut stream) => {
                stream
                    .write_all(
                        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                    .expect("request");
                let mut body = String::new();
                stream.read_to_string(&mut body).expect("response");
                return body;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("metrics endpoint never listened: {e}"),
        }
    }
}

#[test]
fn counters_are_served_on_the_metrics_address() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let handle = pmoc_telemetry::serve_metrics(addr).expect("serving");
    metrics::counter!("pmoc_telemetry_test_served_total").increment(3);
    assert!(
        handle
            .render()
            .contains("pmoc_telemetry_test_served_total 3")
    );
    let body = scrape(addr);
    assert!(
        body.contains("pmoc_telemetry_test_served_total 3"),
        "{body}"
    );
    // Everything else in the process now shares this recorder.
    assert!(
        pmoc_telemetry::metrics_handle()
            .render()
            .contains("pmoc_telemetry_test_served_total 3")
    );
}
