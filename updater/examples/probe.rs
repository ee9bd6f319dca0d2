//! Measures what one update cycle costs through each transport (`BENCHMARKS.md`): `cargo run
//! --release -p dcf-updater --example probe`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use tough::{IntoVec as _, Transport as _};

fn main() {
    let paths = new_repo("probe");
    dcf_rollout::rollout::publish(
        &paths,
        &example(1),
        dcf_rollout::Plan::staged(NOW),
        NOW,
        &Default::default(),
    )
    .unwrap();
    let server = dcf_test_support::StaticServer::start(&paths.dir).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url: url::Url = server.url("metadata/timestamp.json").parse().unwrap();
    let n = 20u32;
    // One file, through tough's HttpTransport and through the pooled transport.
    let tough_http = tough::HttpTransportBuilder::new().build();
    let t = Instant::now();
    for _ in 0..n {
        let s = rt.block_on(tough_http.fetch(url.clone())).unwrap();
        rt.block_on(s.into_vec()).unwrap();
    }
    let per_tough = t.elapsed() / n;
    // The same without the wait tough's retry state makes before the first request too.
    let tough_eager = tough::HttpTransportBuilder::new()
        .initial_backoff(std::time::Duration::ZERO)
        .build();
    let t = Instant::now();
    for _ in 0..n {
        let s = rt.block_on(tough_eager.fetch(url.clone())).unwrap();
        rt.block_on(s.into_vec()).unwrap();
    }
    let per_eager = t.elapsed() / n;
    let pooled = dcf_updater::PooledTransport::new(std::time::Duration::from_secs(10)).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let s = rt.block_on(pooled.fetch(url.clone())).unwrap();
        rt.block_on(s.into_vec()).unwrap();
    }
    let per_pooled = t.elapsed() / n;
    println!(
        "one file: tough HttpTransport {per_tough:?}, without its first wait {per_eager:?}, \
         pooled {per_pooled:?}"
    );
    // A whole update cycle (a new sensor each time, so every cycle fetches the content).
    let state = scratch("probe-state");
    for (label, http) in [("http", true), ("file", false)] {
        let t = Instant::now();
        let n = 200;
        for i in 0..n {
            let mut up = if http {
                updater(
                    &paths,
                    server.url("metadata/").parse().unwrap(),
                    server.url("targets/").parse().unwrap(),
                    &state,
                    &format!("h{i}"),
                )
            } else {
                local_updater(&paths, &state, &format!("f{i}"))
            };
            let s = sensor("7.12");
            let mut h = dcf_updater::Health::new("d", "7.12.0", CHANNEL);
            rt.block_on(up.check(dcf_updater::Slot::Sensor(&s), &mut h, NOW))
                .unwrap();
        }
        println!("update cycle over {label}: {:?}", t.elapsed() / n);
    }
    // Cycles that find nothing new (what most polls are).
    let mut up = local_updater(&paths, &state, "steady");
    let s = sensor("7.12");
    let mut h = dcf_updater::Health::new("d", "7.12.0", CHANNEL);
    rt.block_on(up.check(dcf_updater::Slot::Sensor(&s), &mut h, NOW))
        .unwrap();
    let t = Instant::now();
    for _ in 0..200 {
        rt.block_on(up.check(dcf_updater::Slot::Sensor(&s), &mut h, NOW))
            .unwrap();
    }
    println!("update cycle with nothing new: {:?}", t.elapsed() / 200);
    // The loader alone: the example content into a new sensor.
    let bytes = example(1);
    let t = Instant::now();
    for _ in 0..200 {
        sensor("7.12").load(&bytes, NOW).unwrap();
    }
    println!("a load of the example content: {:?}", t.elapsed() / 200);
    let _ = std::fs::remove_dir_all(paths.dir.parent().unwrap());
}
