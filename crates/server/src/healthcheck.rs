//! `access-reviews healthcheck`: asks the running service's `/readyz`, for
//! container health checks in images that have no curl. Exits 0 when the
//! service answers `2xx`, 1 otherwise.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The address to ask: `LISTEN_ADDR`'s port on the loopback interface (a
/// service listening on all interfaces answers there too).
pub fn target(listen_addr: SocketAddr) -> SocketAddr {
    let ip = if listen_addr.ip().is_unspecified() {
        match listen_addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        }
    } else {
        listen_addr.ip()
    };
    SocketAddr::new(ip, listen_addr.port())
}

/// One `GET /readyz` over HTTP/1.1, within `timeout`.
///
/// # Errors
/// When the service cannot be reached, answers too late, or answers
/// anything but `2xx`.
pub async fn check(address: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let answer = tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("cannot connect to {address}"))?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = vec![0; 64];
        let read = stream.read(&mut head).await?;
        head.truncate(read);
        anyhow::Ok(head)
    })
    .await
    .with_context(|| format!("{address} did not answer within {timeout:?}"))??;
    let status_line = String::from_utf8_lossy(&answer);
    let status = status_line.split(' ').nth(1).unwrap_or_default();
    if status.starts_with('2') {
        Ok(())
    } else {
        bail!(
            "/readyz answered {}",
            status_line.lines().next().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        let ask = |listen: &str| target(listen.parse().unwrap()).to_string();
        assert_eq!(ask("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(ask("[::]:9000"), "[::1]:9000");
        assert_eq!(ask("10.1.2.3:8080"), "10.1.2.3:8080");
    }
}
