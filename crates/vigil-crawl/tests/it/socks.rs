//! A small SOCKS5 proxy (RFC 1928, no authentication, CONNECT only) on 127.0.0.1 that records
//! each CONNECT target as the client sent it and relays every connection to one local address
//! (the test site), whatever the target: an onion name cannot be reached any other way.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT target as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// ATYP 3: a domain name, resolved by the proxy (what `socks5h` sends).
    Name(String, u16),
    /// ATYP 1 or 4: an address the client resolved itself.
    Ip(SocketAddr),
}

pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    pub(crate) targets: Arc<Mutex<Vec<Target>>>,
}

pub(crate) async fn start(relay_to: SocketAddr) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets: Arc<Mutex<Vec<Target>>> = Arc::default();
    let t = targets.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let t = t.clone();
            tokio::spawn(async move {
                let _ = handle(conn, relay_to, t).await;
            });
        }
    });
    Proxy { addr, targets }
}

async fn handle(
    mut c: TcpStream,
    relay_to: SocketAddr,
    targets: Arc<Mutex<Vec<Target>>>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    c.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    c.read_exact(&mut methods).await?;
    if head[0] != 5 || !methods.contains(&0) {
        c.write_all(&[5, 0xFF]).await?;
        return Ok(());
    }
    c.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    c.read_exact(&mut req).await?;
    let target = match req[3] {
        3 => {
            let len = c.read_u8().await? as usize;
            let mut name = vec![0u8; len];
            c.read_exact(&mut name).await?;
            let port = c.read_u16().await?;
            Target::Name(String::from_utf8_lossy(&name).into_owned(), port)
        }
        1 => {
            let mut ip = [0u8; 4];
            c.read_exact(&mut ip).await?;
            let port = c.read_u16().await?;
            Target::Ip(SocketAddr::from((ip, port)))
        }
        _ => {
            let mut ip = [0u8; 16];
            c.read_exact(&mut ip).await?;
            let port = c.read_u16().await?;
            Target::Ip(SocketAddr::from((ip, port)))
        }
    };
    targets.lock().unwrap().push(target);
    if req[1] != 1 {
        c.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let mut upstream = TcpStream::connect(relay_to).await?;
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut c, &mut upstream).await?;
    Ok(())
}
