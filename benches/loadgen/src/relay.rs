//! A TCP relay between the instances and the collector that counts the bytes each way: the
//! real size of OTLP exports, whatever the protocol and compression.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Bytes sent to the collector and back.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) to_collector: u64,
    pub(crate) from_collector: u64,
}

/// The relay's address and running counts.
pub(crate) struct Relay {
    addr: std::net::SocketAddr,
    to_collector: Arc<AtomicU64>,
    from_collector: Arc<AtomicU64>,
}

/// Copies one direction of a connection, counting every byte as it passes (connections to a
/// collector stay open for many exports).
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// `host:port` of an `http://host:port/...` URL.
fn authority(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: --count-bytes relays plain http:// endpoints only"))?;
    Ok(rest.split('/').next().unwrap_or_default().to_owned())
}

impl Relay {
    /// Listens on a free loopback port and relays every connection to `upstream`'s host and port.
    pub(crate) async fn start(upstream: &str) -> Result<Relay, String> {
        let target = authority(upstream)?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("relay: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (to_collector, from_collector) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (up, down) = (to_collector.clone(), from_collector.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, up, down) = (target.clone(), up.clone(), down.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else { return };
                    let (from_instance, to_instance) = inbound.into_split();
                    let (from_collector, to_collector) = outbound.into_split();
                    tokio::spawn(pipe(from_instance, to_collector, up));
                    pipe(from_collector, to_instance, down).await;
                });
            }
        });
        Ok(Relay { addr, to_collector, from_collector })
    }

    /// `upstream` with the relay's address in place of the collector's.
    pub(crate) fn endpoint(&self, upstream: &str) -> String {
        match authority(upstream) {
            Ok(authority) => upstream.replacen(&authority, &self.addr.to_string(), 1),
            Err(_) => upstream.to_owned(),
        }
    }

    /// The bytes of every connection closed so far.
    pub(crate) fn counts(&self) -> Counts {
        Counts { to_collector: self.to_collector.load(Ordering::Relaxed), from_collector: self.from_collector.load(Ordering::Relaxed) }
    }
}
