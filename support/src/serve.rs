//! [`StaticServer`]: a loopback HTTP/1.1 server of a directory's files, for the network tests
//! of the updater (TUF repositories are trees of static files). It serves `GET` only, keeps
//! a connection open for further requests (a thread per connection, which ends when the
//! client closes it or leaves it idle for 30 s), and stops accepting when dropped.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes of a request head the server reads before it gives up on a request.
const MAX_HEAD: u64 = 16 * 1024;

/// How long a connection may stay idle before the server closes it: longer than any client
/// of the tests keeps an idle connection (the updater's pool: 10 s), so that a client never
/// sends a request on a connection the server is closing.
const IDLE: Duration = Duration::from_secs(30);

/// A server of `root`'s files on 127.0.0.1, on a port the system picks.
pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Starts serving `root`.
    pub fn start(root: &Path) -> std::io::Result<StaticServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let root = root.to_path_buf();
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (root, requests) = (root.clone(), requests2.clone());
                    // A client that misbehaves costs its own thread at most the timeouts.
                    std::thread::spawn(move || serve_connection(stream, &root, &requests));
                }
            }
        });
        Ok(StaticServer {
            addr,
            stop,
            requests,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/` followed by `path` (which should end in `/` for a directory).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_connection(stream: TcpStream, root: &Path, requests: &AtomicU64) {
    let setup = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(IDLE)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))));
    let Ok(read_half) = stream.try_clone().map(BufReader::new) else {
        return;
    };
    if setup.is_err() {
        return;
    }
    let mut reader = read_half;
    let mut out = stream;
    loop {
        let mut head = String::new();
        let mut limited = (&mut reader).take(MAX_HEAD);
        // The request line, then headers up to the blank line.
        match limited.read_line(&mut head) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut close = false;
        loop {
            let mut header = String::new();
            match limited.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) if header.trim().is_empty() => break,
                Ok(_) => close |= header.to_ascii_lowercase().starts_with("connection: close"),
            }
        }
        requests.fetch_add(1, Ordering::Relaxed);
        let mut parts = head.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let file = (method == "GET").then(|| resolve(root, target)).flatten();
        let body = file.and_then(|p| std::fs::read(p).ok());
        let status = if body.is_some() {
            "200 OK"
        } else {
            "404 Not Found"
        };
        let body = body.unwrap_or_default();
        // Head and body in one write: two small writes would wait on the client's delayed
        // acknowledgement.
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        if out.write_all(&response).and_then(|()| out.flush()).is_err() || close {
            return;
        }
    }
}

/// The file a request target names under `root`, if it stays under it.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('?').next()?.trim_start_matches('/');
    let mut out = root.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return None,
        }
    }
    out.is_file().then_some(out)
}
