//! [`PooledTransport`]: the bytes of the repository over HTTP(S) through one `reqwest` client
//! that keeps its connections, and from `file://` paths through `tough`'s own transport.
//!
//! `tough`'s `HttpTransport` builds a new HTTP client for every file, which loads the
//! platform's TLS trust store each time: 84 ms per file on this project's CI machine (420 ms
//! for one update cycle's five files, measured by `cargo run --release -p dcf-updater
//! --example probe`; `BENCHMARKS.md`). That is harmless for a sensor polling hourly and
//! ruinous for ten thousand simulated sensors in one process, so the updater fetches through
//! one client instead. Only the transport differs: every byte still goes through `tough`'s
//! verification (signatures, versions, lengths, digests), which wraps any transport.

use futures_util::TryStreamExt as _;
use tough::{FilesystemTransport, Transport, TransportError, TransportErrorKind, TransportStream};
use url::Url;

/// A transport with one pooled HTTP client; clones share it.
#[derive(Clone, Debug)]
pub struct PooledTransport {
    client: reqwest::Client,
}

impl PooledTransport {
    /// A transport whose requests time out after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Result<PooledTransport, String> {
        // Building tough's builder installs the aws-lc-rs provider for rustls when none is,
        // as tough's own transport needs; the client below then finds it.
        let _ = tough::HttpTransportBuilder::new();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Connections serve one update cycle's few files; a server may close an idle one
            // at any time, so none is kept long enough to meet that.
            .pool_idle_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(PooledTransport { client })
    }
}

/// An error and its causes on one line (reqwest's own message stops at the first).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tough::async_trait]
impl Transport for PooledTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        match url.scheme() {
            "file" => FilesystemTransport.fetch(url).await,
            "http" | "https" => {
                let response = self.client.get(url.clone()).send().await.map_err(|e| {
                    TransportError::new_with_cause(
                        TransportErrorKind::Other,
                        url.clone(),
                        chain(&e),
                    )
                })?;
                let status = response.status();
                if status == reqwest::StatusCode::NOT_FOUND
                    || status == reqwest::StatusCode::FORBIDDEN
                {
                    // TUF asks for root N+1 until there is none: "not found" ends that walk.
                    return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
                }
                if !status.is_success() {
                    return Err(TransportError::new_with_cause(
                        TransportErrorKind::Other,
                        url,
                        format!("HTTP status {status}"),
                    ));
                }
                let stream = response.bytes_stream().map_err(move |e| {
                    TransportError::new_with_cause(TransportErrorKind::Other, url.clone(), e)
                });
                Ok(Box::pin(stream))
            }
            _ => Err(TransportError::new(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
            )),
        }
    }
}
