//! The rustls set-up every TLS endpoint of the harness shares: the ring provider (the crate
//! does not build aws-lc), TLS 1.2 and 1.3, no ALPN (so clients speak HTTP/1.1), no client
//! certificates.

use super::{run, tool};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
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

/// Writes, in `dir`, a P-256 CA (`ca.crt`) and a server certificate for the DNS name `name`
/// that it signed (`server.crt`, `server.key`): a stand-in for a public host (with `name`
/// mapped to a loopback address) that the binary trusts through `--cacert`. Returns the paths
/// (CA, certificate, key).
pub fn ca_and_cert_for(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("TLS: the certificate directory");
    let config = format!(
        "[req]\ndistinguished_name = dn\n[dn]\n\
         [ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign\n\
         [server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:{name}\n"
    );
    std::fs::write(dir.join("openssl.cnf"), config).expect("TLS: openssl.cnf");
    let new_key = "-x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
                   -config openssl.cnf";
    for args in [
        format!("req {new_key} -extensions ca -subj /CN=stand-in-CA -keyout ca.key -out ca.crt"),
        format!(
            "req {new_key} -extensions server -subj /CN={name} -CA ca.crt -CAkey ca.key \
             -keyout server.key -out server.crt"
        ),
    ] {
        run(tool("openssl")
            .current_dir(dir)
            .args(args.split_whitespace()));
    }
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}
