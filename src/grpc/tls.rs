//! TLS of the server: the certificate and key it presents, the CA whose
//! client certificates it requires (mTLS), and checking those files when
//! the server starts, so a wrong path or file is reported then and not at
//! the first connection.
//!
//! rustls (through tonic) does the TLS; its PEM parser is not reachable
//! without a dependency of our own, so [`TlsFiles::load`] checks each file
//! for a PEM block of the right kind (which names the file at fault), then
//! builds the real rustls configuration once through tonic's
//! `Server::tls_config`, which parses the certificates and checks that the
//! key belongs to the certificate.

use std::path::{Path, PathBuf};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// The PEM files of the server's TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM, the server's own certificate
    /// first), presented to every client.
    pub cert: PathBuf,
    /// The private key of `cert` (PEM: PKCS#8, PKCS#1 or SEC1, not
    /// encrypted).
    pub key: PathBuf,
    /// With mTLS: the CA certificate(s) (PEM) a client's certificate must
    /// chain to; a client without such a certificate is refused during
    /// the handshake.
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read the TLS {what} {path}: {error}: check the path (--tls-cert, --tls-key, --tls-client-ca or the [tls] table) and that kicer may read the file")]
    Read {
        /// Which file: "certificate", "key" or "client CA".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (not a `source`: the message shows it once, here).
        error: std::io::Error,
    },
    /// A certificate file holds no PEM certificate.
    #[error("the TLS {what} {path} is not a PEM certificate: it needs a `-----BEGIN CERTIFICATE-----` block{hint}")]
    NotCertificate {
        /// Which file: "certificate" or "client CA".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the file looks like instead, if that is recognisable.
        hint: &'static str,
    },
    /// The key file holds no usable PEM private key.
    #[error("the TLS key {path} is not a PEM private key: it needs a `-----BEGIN PRIVATE KEY-----` (or RSA / EC PRIVATE KEY) block{hint}")]
    NotKey {
        /// The file.
        path: PathBuf,
        /// What the file looks like instead, if that is recognisable.
        hint: &'static str,
    },
    /// rustls refused the certificate and key (damaged PEM, a key that
    /// does not belong to the certificate, an unsupported algorithm).
    #[error("the TLS certificate {cert} and key {key} cannot be used together: {reason}: check that the certificate file holds a valid certificate chain and that the key is the one it was issued for (compare `openssl x509 -noout -pubkey -in CERT` with `openssl pkey -pubout -in KEY`)")]
    Identity {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
    /// rustls refused the client CA.
    #[error("the client CA {path} cannot be used: {reason}: give the PEM certificate of the CA that signs the client certificates")]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

/// The first line of a PEM certificate.
pub(crate) const CERTIFICATE_BLOCK: &str = "-----BEGIN CERTIFICATE-----";
/// The first lines of the key encodings rustls reads (PKCS#8, PKCS#1, SEC1).
pub(crate) const KEY_BLOCKS: [&str; 3] = [
    "-----BEGIN PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN EC PRIVATE KEY-----",
];

impl TlsFiles {
    /// Reads and checks the files and returns the server's TLS settings:
    /// its identity and, with [`client_ca`](Self::client_ca), client
    /// certificates required. The caller adds the handshake timeout.
    pub fn load(&self) -> Result<ServerTlsConfig, TlsError> {
        let cert = read(&self.cert, "certificate")?;
        check_certificate(&cert, &self.cert, "certificate")?;
        let key = read(&self.key, "key")?;
        check_key(&key, &self.key)?;
        let config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        // Built once here, without the client CA first, so an error names
        // the files at fault; the server builds it again from the result.
        rustls_accepts(config.clone()).map_err(|reason| TlsError::Identity {
            cert: self.cert.clone(),
            key: self.key.clone(),
            reason,
        })?;
        let Some(path) = &self.client_ca else {
            return Ok(config);
        };
        let ca = read(path, "client CA")?;
        check_certificate(&ca, path, "client CA")?;
        // Client certificates are required (tonic's default): with mTLS a
        // client without one must not get in.
        let config = config
            .client_ca_root(Certificate::from_pem(ca))
            .client_auth_optional(false);
        rustls_accepts(config.clone()).map_err(|reason| TlsError::ClientCa {
            path: path.clone(),
            reason,
        })?;
        Ok(config)
    }

    /// "mTLS" when client certificates are required, else "TLS": how the
    /// server announces itself.
    pub fn mode(&self) -> &'static str {
        if self.client_ca.is_some() {
            "mTLS"
        } else {
            "TLS"
        }
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_path_buf(),
        error,
    })
}

/// Whether `pem` holds a block that starts with one of `blocks`: a cheap
/// check that names a wrong file before rustls parses it.
pub(crate) fn has_pem_block(pem: &[u8], blocks: &[&str]) -> bool {
    let text = String::from_utf8_lossy(pem);
    blocks.iter().any(|block| text.contains(block))
}

fn check_certificate(pem: &[u8], path: &Path, what: &'static str) -> Result<(), TlsError> {
    if has_pem_block(pem, &[CERTIFICATE_BLOCK]) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(pem);
    let hint = if text.contains("PRIVATE KEY-----") {
        ": this file holds a private key (are --tls-cert and --tls-key swapped?)"
    } else if !text.contains("-----BEGIN") {
        ": it holds no PEM at all (DER? convert with `openssl x509 -inform der -in FILE -out FILE.pem`)"
    } else {
        ""
    };
    Err(TlsError::NotCertificate {
        what,
        path: path.to_path_buf(),
        hint,
    })
}

fn check_key(pem: &[u8], path: &Path) -> Result<(), TlsError> {
    if has_pem_block(pem, &KEY_BLOCKS) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(pem);
    let hint = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        ": the key is encrypted, which kicer cannot read (decrypt it with `openssl pkey -in KEY -out KEY.plain` and keep that file readable by kicer only)"
    } else if text.contains(CERTIFICATE_BLOCK) {
        ": this file holds a certificate (are --tls-cert and --tls-key swapped?)"
    } else if !text.contains("-----BEGIN") {
        ": it holds no PEM at all (DER? convert with `openssl pkey -inform der -in FILE -out FILE.pem`)"
    } else {
        ""
    };
    Err(TlsError::NotKey {
        path: path.to_path_buf(),
        hint,
    })
}

/// Builds the rustls configuration as the server will; rustls' reason,
/// with its causes, if it refuses.
fn rustls_accepts(config: ServerTlsConfig) -> Result<(), String> {
    Server::builder()
        .tls_config(config)
        .map(drop)
        .map_err(|e| transport_reason(&e))
}

/// What a tonic transport error is about: its sources, joined, since its
/// own message is only "transport error".
pub(crate) fn transport_reason(error: &tonic::transport::Error) -> String {
    use std::error::Error;
    match error.source() {
        Some(source) => with_causes(source.to_string(), source.source()),
        None => error.to_string(),
    }
}

/// `text` followed by `source` and its sources.
pub(crate) fn with_causes(
    mut text: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source in their own message.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pems {
        dir: tempfile::TempDir,
    }

    impl Pems {
        fn new() -> Pems {
            Pems {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn files(cert: PathBuf, key: PathBuf, client_ca: Option<PathBuf>) -> TlsFiles {
        TlsFiles {
            cert,
            key,
            client_ca,
        }
    }

    #[test]
    fn a_matching_certificate_and_key_load() {
        let pems = Pems::new();
        let (cert, key) = self_signed();
        let cert = pems.write("cert.pem", &cert);
        let key = pems.write("key.pem", &key);
        files(cert.clone(), key.clone(), None).load().unwrap();
        let ca = cert.clone();
        let with_ca = files(cert, key, Some(ca));
        with_ca.load().unwrap();
        assert_eq!(with_ca.mode(), "mTLS");
    }

    #[test]
    fn a_missing_file_is_named() {
        let pems = Pems::new();
        let (cert, _) = self_signed();
        let cert = pems.write("cert.pem", &cert);
        let missing = pems.dir.path().join("nowhere.pem");
        let err = files(cert, missing.clone(), None).load().unwrap_err();
        assert!(matches!(err, TlsError::Read { what: "key", .. }), "{err}");
        assert!(err.to_string().contains("nowhere.pem"), "{err}");
    }

    #[test]
    fn files_of_the_wrong_kind_say_what_they_hold() {
        let pems = Pems::new();
        let (cert, key) = self_signed();
        let cert = pems.write("cert.pem", &cert);
        let key = pems.write("key.pem", &key);
        let err = files(key.clone(), cert.clone(), None).load().unwrap_err();
        assert!(err.to_string().contains("not a PEM certificate"), "{err}");
        assert!(err.to_string().contains("swapped"), "{err}");
        let garbage = pems.write("garbage.pem", "hello");
        let err = files(cert.clone(), garbage.clone(), None)
            .load()
            .unwrap_err();
        assert!(err.to_string().contains("not a PEM private key"), "{err}");
        let err = files(cert, key, Some(garbage)).load().unwrap_err();
        assert!(err.to_string().contains("client CA"), "{err}");
        assert!(err.to_string().contains("garbage.pem"), "{err}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let pems = Pems::new();
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let cert = pems.write("cert.pem", &cert);
        let key = pems.write("key.pem", &other_key);
        let err = files(cert, key, None).load().unwrap_err();
        assert!(matches!(err, TlsError::Identity { .. }), "{err}");
        assert!(err.to_string().contains("key.pem"), "{err}");
    }

    #[test]
    fn a_damaged_certificate_block_is_refused() {
        let pems = Pems::new();
        let (_, key) = self_signed();
        let cert = pems.write(
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        );
        let key = pems.write("key.pem", &key);
        let err = files(cert, key, None).load().unwrap_err();
        assert!(matches!(err, TlsError::Identity { .. }), "{err}");
    }
}
