//! TLS for PMOC's HTTP listeners (the dashboard and the HTTP ingest), with
//! rustls: one [`Listener`] that is either plain TCP or TLS, so a server's
//! `run(listener, ...)` serves both and a test binds port 0 for either.
//!
//! Handshakes run in their own tasks, never inside `accept`: a client that
//! opens a connection and stalls its handshake would otherwise hold up every
//! other connection. A handshake has [`HANDSHAKE_TIMEOUT`] to finish.
//!
//! The crate lives beside `schemas` (not inside it) because it needs tokio,
//! which `schemas` must not (it compiles to WASM).

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    sync::mpsc,
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

/// Longest a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("certificate and key do not make a valid server configuration")]
    Config(#[from] rustls::Error),
    #[error("listener address")]
    Io(#[from] io::Error),
}

/// A server configuration from PEM files: the certificate chain (leaf
/// first) and its private key (PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    fn read(path: &Path) -> impl Fn(rustls_pki_types::pem::Error) -> TlsError + '_ {
        move |source| TlsError::Read {
            path: path.to_owned(),
            source,
        }
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(read(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read(cert))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(read(key))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Any accepted connection, plain or TLS.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// A bound listener, plain TCP or TLS, for `axum::serve`.
pub struct Listener {
    local: SocketAddr,
    inner: Inner,
}

enum Inner {
    Plain(TcpListener),
    /// Completed handshakes, from the task that accepts and shakes hands.
    Tls {
        ready: mpsc::Receiver<(Box<dyn Connection>, SocketAddr)>,
        acceptor: JoinHandle<()>,
    },
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Plain(_) => "plain",
            Inner::Tls { .. } => "tls",
        };
        write!(f, "Listener({kind} {})", self.local)
    }
}

impl Listener {
    pub fn plain(listener: TcpListener) -> Result<Self, TlsError> {
        Ok(Self {
            local: listener.local_addr()?,
            inner: Inner::Plain(listener),
        })
    }

    /// Serves TLS with `config` on `listener`.
    pub fn tls(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> Result<Self, TlsError> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(shake_hands(listener, TlsAcceptor::from(config), tx));
        Ok(Self {
            local,
            inner: Inner::Tls { ready, acceptor },
        })
    }

    /// Whether connections are encrypted here (cookies may then be `Secure`).
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls { .. })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Inner::Tls { acceptor, .. } = &self.inner {
            acceptor.abort();
        }
    }
}

async fn shake_hands(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(Box<dyn Connection>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if ready.is_closed() {
            return;
        }
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = ready.send((Box::new(stream), peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "tls handshake failed"),
                Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for Listener {
    type Io = Box<dyn Connection>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.inner {
            Inner::Plain(listener) => {
                let (tcp, peer) = axum::serve::Listener::accept(listener).await;
                (Box::new(tcp) as Box<dyn Connection>, peer)
            }
            Inner::Tls { ready, .. } => match ready.recv().await {
                Some(accepted) => accepted,
                // The acceptor task ended (it only does when aborted): never
                // hand out another connection.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The client's address, for `ConnectInfo<Peer>` (axum's own `SocketAddr`
/// connect info exists only for its `TcpListener`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// Binds `addr`, with TLS when both PEM files are given.
pub async fn bind(addr: &str, cert_key: Option<(&Path, &Path)>) -> Result<Listener, TlsError> {
    let tcp = TcpListener::bind(addr).await?;
    match cert_key {
        Some((cert, key)) => Listener::tls(tcp, server_config(cert, key)?),
        None => Listener::plain(tcp),
    }
}
