use dcf_sensor::{LoaderConfig, Sensor};
use dcf_sigma::ImportOptions;
use std::time::Instant;
fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("sigma/manifests/sigmahq.toml")).unwrap();
    let interface = dcf_validator::manifest::from_toml(&text).unwrap();
    let path = std::path::PathBuf::from("/tmp/sigma-signed-profile.dcf");
    let bytes = if path.exists() {
        std::fs::read(&path).unwrap()
    } else {
        let files = vec![root.join("../shared/sigma/rules")];
        let (mut content, _r) = dcf_sigma::compile_paths(
            &files,
            std::slice::from_ref(&interface),
            &ImportOptions::default(),
        )
        .unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]);
        let signed = dcf_validator::keys::sign_content(&mut content, &key).unwrap();
        std::fs::write(&path, &signed).unwrap();
        signed
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]);
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut best = f64::MAX;
    for _ in 0..n {
        let sensor = Sensor::new(
            LoaderConfig::new(interface.clone(), vec![key.verifying_key().to_bytes()]),
            0,
        )
        .unwrap();
        let t = Instant::now();
        let r = sensor.load(&bytes, 1).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        drop(r);
    }
    println!("best load {:.1} ms", best * 1e3);
}
