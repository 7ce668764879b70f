//! The rustls set-up every TLS endpoint of the harness shares: the ring provider (the crate
//! does not build aws-lc), TLS 1.2 and 1.3, no ALPN (so clients speak HTTP/1.1), no client
//! certificates.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// The ring crypto provider, the only one the test build has.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration serving `cert` (PEM chain, leaf first) with `key` (PEM), for the
/// harness's HTTPS servers (the proxy, the token server). Panics naming the file it cannot read.
pub fn server_config(cert: &Path, key: &Path) -> Arc<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .unwrap_or_else(|e| panic!("TLS: reading {}: {e}", cert.display()));
    let key = PrivateKeyDer::from_pem_file(key)
        .unwrap_or_else(|e| panic!("TLS: reading {}: {e}", key.display()));
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("TLS: protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("TLS: certificate and key");
    Arc::new(config)
}

/// A client configuration that trusts only the PEM certificates in `ca`, for tests that talk
/// to a harness server themselves (not through the binary under test).
pub fn client_config(ca: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("TLS: reading {}: {e}", ca.display()));
    for cert in certs {
        roots.add(cert).expect("TLS: a CA certificate");
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("TLS: protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
