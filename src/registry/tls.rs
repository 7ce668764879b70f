//! TLS settings for one registry: whether to verify, which CAs to trust, and a client
//! certificate, from `--insecure`, `--cacert`, `SSL_CERT_FILE` and docker's `certs.d`.

use super::options::TransportOptions;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

/// TLS settings for `host` (as in a URL: `name[:port]` or `[v6]:port`).
///
/// With `--plain-http` no CA file is read: a token realm or redirect on https still gets the
/// bundled roots, and `--insecure`. Otherwise trust, in order: `--cacert`, else
/// `SSL_CERT_FILE`, else docker's `certs.d/<host>/*.crt`, else the bundled Mozilla roots. Like
/// curl's `--cacert` and Go's `SSL_CERT_FILE`, a CA file replaces the roots rather than adding
/// to them. `certs.d/<host>/client.cert` + `client.key` give a client certificate.
pub fn config(host: &str, options: &TransportOptions) -> Result<TlsConfig> {
    let mut builder = TlsConfig::builder().disable_verification(options.insecure);
    if options.plain_http {
        return Ok(builder.build());
    }
    let host_dir = options.certs_d.join(host.replace(['[', ']'], ""));
    let host_dir = if host_dir.is_dir() {
        Some(host_dir)
    } else {
        let raw = options.certs_d.join(host);
        raw.is_dir().then_some(raw)
    };
    let mut roots = Vec::new();
    if let Some(file) = &options.cacert {
        roots.extend(read_certificates("--cacert ", file)?);
    } else if let Some(file) = &options.ssl_cert_file {
        roots.extend(read_certificates("SSL_CERT_FILE ", file)?);
    } else if let Some(dir) = &host_dir {
        for file in files_with_extension(dir, "crt")? {
            roots.extend(read_certificates("", &file)?);
        }
    }
    if !roots.is_empty() {
        builder = builder.root_certs(RootCerts::new_with_certs(&roots));
    }
    if let Some(dir) = &host_dir {
        let cert = dir.join("client.cert");
        let key = dir.join("client.key");
        if cert.is_file() && key.is_file() {
            let chain = read_certificates("", &cert)?;
            let key = read_private_key(&key)?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
    }
    Ok(builder.build())
}

/// The files of `dir` whose name ends in `.extension`, sorted.
fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    Ok(files)
}

/// Every certificate of a PEM file; a file with none, or malformed, is an error naming it
/// after `source`, where the user gave it (`--cacert `, `SSL_CERT_FILE `; empty for a file
/// of a `certs.d` directory, whose path says where it is).
fn read_certificates(source: &str, path: &Path) -> Result<Vec<Certificate<'static>>> {
    let named = format!("{source}{}", path.display());
    let pem = std::fs::read(path).map_err(|e| Error::Io {
        path: named.clone(),
        detail: e.to_string(),
    })?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certificates.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::Input(format!(
                    "{named}: not a valid PEM certificate file: {e}"
                )));
            }
        }
    }
    if certificates.is_empty() {
        return Err(Error::Input(format!(
            "{named}: contains no PEM certificate"
        )));
    }
    Ok(certificates)
}

/// The private key of a PEM file (`client.key`).
fn read_private_key(path: &Path) -> Result<PrivateKey<'static>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    PrivateKey::from_pem(&pem).map_err(|_| {
        Error::Input(format!(
            "{}: contains no usable PEM private key",
            path.display()
        ))
    })
}
