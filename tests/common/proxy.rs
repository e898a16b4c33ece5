//! A TCP proxy in front of a real server that can cut connections: the way to test what
//! happens when the network drops in the middle of a sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Default)]
pub struct Faults {
    /// Cut a connection once the server has sent it this many bytes (0: never). Stays
    /// armed until one connection was actually cut.
    pub cut_after_bytes: Arc<AtomicU64>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
    /// Refuse connections (close them at once) while set.
    pub refuse: Arc<AtomicBool>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicU64>,
}

pub struct Proxy {
    pub port: u16,
    pub faults: Faults,
}

impl Proxy {
    pub async fn start(target_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let faults = Faults::default();
        let shared = faults.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                if shared.refuse.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, target_port, shared.clone()));
            }
        });
        Proxy { port, faults }
    }
}

async fn relay(mut client: TcpStream, target_port: u16, faults: Faults) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let downstream = async {
        let mut sent = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let cut_after = faults.cut_after_bytes.load(Ordering::SeqCst);
            let n = if cut_after > 0 {
                n.min(cut_after.saturating_sub(sent) as usize)
            } else {
                n
            };
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
            sent += n as u64;
            if cut_after > 0
                && sent >= cut_after
                && faults
                    .cut_after_bytes
                    .compare_exchange(cut_after, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                faults.cuts.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}
