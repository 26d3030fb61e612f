//! TLS settings for the [`Driver`](super::Driver) (SIPS, RFC 3261 §26.2): rustls with the
//! ring provider, certificates and keys from PEM files.
//!
//! ```no_run
//! # fn run() -> Result<(), telox_sip_core::tokio::tls::TlsError> {
//! use telox_sip_core::tokio::tls;
//! let chain = tls::load_certs("cert.pem")?;
//! let key = tls::load_private_key("key.pem")?;
//! let server = tls::server_config(chain.clone(), key)?;
//! let client = tls::client_config(tls::root_store(chain)?)?;
//! # Ok(()) }
//! ```
//!
//! Mutual TLS: [`server_config_mutual`] requires a client certificate that chains to the
//! given roots; [`client_config_with_cert`] presents one.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Why TLS material could not be loaded or configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The PEM file could not be read or holds no usable section.
    #[error("PEM {path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong (I/O, syntax, no certificate, no key).
        reason: String,
    },
    /// rustls refused the material (bad key, no supported protocol).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built (e.g. an empty root store).
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}

fn pem_error(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Every `CERTIFICATE` section of a PEM file, leaf first for a chain.
///
/// # Errors
/// [`TlsError::Pem`] when the file cannot be read, is malformed or holds no certificate.
pub fn load_certs(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE section"));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of a PEM file.
///
/// # Errors
/// [`TlsError::Pem`] when the file cannot be read or holds no key.
pub fn load_private_key(path: impl AsRef<Path>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, e))
}

/// The crypto provider the driver uses: ring (no C toolchain beyond what ring builds, no
/// aws-lc).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `chain` (leaf first) with `key`; no client
/// certificates are requested.
///
/// # Errors
/// [`TlsError::Rustls`] when the key does not suit the certificate or is unsupported.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A server configuration presenting `chain` with `key` that requires every client to
/// present a certificate chaining to `client_roots` (mutual TLS); a client without one, or
/// with an untrusted one, fails the handshake.
///
/// # Errors
/// [`TlsError::Verifier`] for an empty or unusable root store, [`TlsError::Rustls`] when the
/// key does not suit the certificate.
pub fn server_config_mutual(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: RootCertStore,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), provider())
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A root store trusting `certs` (for a private CA or a self-signed peer).
///
/// # Errors
/// [`TlsError::Rustls`] when a certificate cannot serve as a trust anchor.
pub fn root_store(
    certs: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert)?;
    }
    Ok(roots)
}

/// A client configuration that verifies servers against `roots` and checks the server name
/// (the target's host name, or its IP address when none is known; see
/// [`Driver::set_tls_server_name`](super::Driver::set_tls_server_name)).
///
/// # Errors
/// [`TlsError::Rustls`] when no protocol version is supported by the provider.
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Like [`client_config`], presenting the client certificate `chain` (leaf first) with
/// `key` to servers that ask for one (mutual TLS).
///
/// # Errors
/// [`TlsError::Rustls`] when the key does not suit the certificate or is unsupported.
pub fn client_config_with_cert(
    roots: RootCertStore,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    Ok(Arc::new(config))
}
