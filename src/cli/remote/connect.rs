//! How the command line reaches the server: the URL (`http://`, or
//! `https://` for TLS), which CA it trusts, its client certificate for a
//! server that requires one (mTLS), and the bearer token every call
//! carries.

use super::Remote;
use crate::grpc::tls::{has_pem_block, transport_reason, CERTIFICATE_BLOCK, KEY_BLOCKS};
use std::path::{Path, PathBuf};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// What every client of a session talks through: the channel, with the
/// token added to each call.
pub(crate) type Link = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call, when a token was
/// given; a server without access control ignores it.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Why the command line cannot reach the server.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `--server` is not a URL.
    #[error("`{0}` is not a server URL: use e.g. http://127.0.0.1:50051, or https://kicer.example.nl:50051 for a server with TLS")]
    NotUrl(String),
    /// `--server` is a URL of another scheme.
    #[error("`{0}` is not an http:// or https:// URL: use e.g. http://127.0.0.1:50051, or https://kicer.example.nl:50051 for a server with TLS")]
    Scheme(String),
    /// A TLS option with a plain-text URL.
    #[error("{option} is for a server with TLS, but {url} is plain text: use https://")]
    NeedsHttps {
        /// The option given.
        option: &'static str,
        /// The server URL.
        url: String,
    },
    /// One of `--client-cert` and `--client-key` without the other.
    #[error("a client certificate needs its key: give both --client-cert and --client-key (KICER_CLIENT_CERT, KICER_CLIENT_KEY)")]
    ClientPair,
    /// A PEM file cannot be read.
    #[error("cannot read the {what} {path}: {error}: check the path")]
    Read {
        /// Which option's file.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (not a `source`: the message shows it once, here).
        error: std::io::Error,
    },
    /// A PEM file holds no block of the right kind.
    #[error("the {what} {path} is not {expected}: give the PEM file (it has a `-----BEGIN ...-----` line)")]
    NotPem {
        /// Which option's file.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What it should hold.
        expected: &'static str,
    },
    /// The token cannot travel as gRPC metadata.
    #[error("the token (--token or KICER_TOKEN) is not valid in a gRPC header: it must be printable ASCII, without spaces, line breaks or other control characters; copy it again from whoever issued it")]
    Token,
    /// rustls refused the CLI's own TLS settings.
    #[error(
        "cannot set up TLS for {url}: {reason}: check --ca-cert, --client-cert and --client-key"
    )]
    TlsSetup {
        /// The server URL.
        url: String,
        /// rustls' reason, with its causes.
        reason: String,
    },
    /// The server could not be reached.
    #[error("cannot reach kicer at {url}: {reason}{hint}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// What failed, with its causes.
        reason: String,
        /// What to check, depending on TLS.
        hint: &'static str,
    },
}

/// What to check when an `https://` server cannot be reached.
const TLS_HINT: &str = "; is `kicer serve` running there with --tls-cert? If its certificate \
     was refused: does --ca-cert (KICER_CA_CERT) name the CA that signed it (without --ca-cert \
     the system's CAs are trusted), and is the URL's host a name the certificate is for? A server \
     started with --tls-client-ca also needs --client-cert and --client-key";
/// What to check when an `http://` server cannot be reached.
const PLAIN_HINT: &str = "; is `kicer serve` running there? (set --server or KICER_SERVER; \
     a server started with --tls-cert needs https://)";

/// What to check when the connection breaks during a call: with TLS 1.3
/// a server that refuses the client's certificate says so only after
/// the handshake, and a plain-text client on a TLS port gets garbage.
pub(super) const BROKEN_HINT: &str = "; the connection to the server failed: a server started \
     with --tls-cert needs an https:// URL, and one started with --tls-client-ca needs \
     --client-cert and --client-key with a certificate signed by its client CA";

impl Remote {
    /// Connects to the server, with TLS for an `https://` URL, and
    /// returns the link every client of the session uses.
    pub(crate) async fn connect(&self) -> Result<Link, ConnectError> {
        let bearer = self.bearer()?;
        let endpoint = self.endpoint()?;
        let tls = endpoint.uri().scheme_str() == Some("https");
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| ConnectError::Unreachable {
                url: self.server.clone(),
                reason: transport_reason(&e),
                hint: if tls { TLS_HINT } else { PLAIN_HINT },
            })?;
        Ok(InterceptedService::new(channel, bearer))
    }

    fn bearer(&self) -> Result<Bearer, ConnectError> {
        let token = self.token.as_deref().map(str::trim).unwrap_or_default();
        if token.is_empty() {
            return Ok(Bearer(None));
        }
        // Header values may carry bytes beyond ASCII, but a bearer token
        // is visible ASCII (RFC 6750): anything else is a copying mistake.
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ConnectError::Token);
        }
        let mut value = MetadataValue::try_from(format!("Bearer {token}").as_str())
            .map_err(|_| ConnectError::Token)?;
        // Kept out of debug output (tonic's and hyper's logs).
        value.set_sensitive(true);
        Ok(Bearer(Some(value)))
    }

    fn endpoint(&self) -> Result<Endpoint, ConnectError> {
        let url = &self.server;
        let endpoint =
            Channel::from_shared(url.clone()).map_err(|_| ConnectError::NotUrl(url.clone()))?;
        match endpoint.uri().scheme_str() {
            Some("https") => {
                endpoint
                    .tls_config(self.client_tls()?)
                    .map_err(|e| ConnectError::TlsSetup {
                        url: url.clone(),
                        reason: transport_reason(&e),
                    })
            }
            Some("http") => {
                let option = [
                    (self.ca_cert.is_some(), "--ca-cert"),
                    (self.client_cert.is_some(), "--client-cert"),
                    (self.client_key.is_some(), "--client-key"),
                ]
                .into_iter()
                .find_map(|(given, option)| given.then_some(option));
                match option {
                    Some(option) => Err(ConnectError::NeedsHttps {
                        option,
                        url: url.clone(),
                    }),
                    None => Ok(endpoint),
                }
            }
            _ => Err(ConnectError::Scheme(url.clone())),
        }
    }

    /// The CA to trust (`--ca-cert`, else the system's) and the client
    /// certificate, if any.
    fn client_tls(&self) -> Result<ClientTlsConfig, ConnectError> {
        let config = match &self.ca_cert {
            Some(path) => {
                let pem = read_pem(path, "CA certificate", &[CERTIFICATE_BLOCK])?;
                ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
            }
            None => ClientTlsConfig::new().with_native_roots(),
        };
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let cert = read_pem(cert, "client certificate", &[CERTIFICATE_BLOCK])?;
                let key = read_pem(key, "client key", &KEY_BLOCKS)?;
                Ok(config.identity(Identity::from_pem(cert, key)))
            }
            (None, None) => Ok(config),
            _ => Err(ConnectError::ClientPair),
        }
    }
}

/// Reads a PEM file given on the command line and checks it holds one of
/// `blocks`, so a wrong file is named rather than failing the handshake.
fn read_pem(path: &Path, what: &'static str, blocks: &[&str]) -> Result<Vec<u8>, ConnectError> {
    let pem = std::fs::read(path).map_err(|error| ConnectError::Read {
        what,
        path: path.to_path_buf(),
        error,
    })?;
    if !has_pem_block(&pem, blocks) {
        return Err(ConnectError::NotPem {
            what,
            path: path.to_path_buf(),
            expected: if blocks == [CERTIFICATE_BLOCK] {
                "a PEM certificate"
            } else {
                "a PEM private key"
            },
        });
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(server: &str) -> Remote {
        Remote {
            server: server.into(),
            actor: None,
            json: false,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            token: None,
        }
    }

    #[test]
    fn the_token_goes_in_the_authorization_header() {
        let mut r = remote("http://127.0.0.1:1");
        r.token = Some(" s3cret\n".into());
        let mut bearer = r.bearer().unwrap();
        let request = bearer.call(tonic::Request::new(())).unwrap();
        let value = request.metadata().get("authorization").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer s3cret");
        let mut none = remote("http://127.0.0.1:1").bearer().unwrap();
        let request = none.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn a_token_that_cannot_be_metadata_is_refused() {
        for token in ["tok\u{7}en", "tökèn", "a\nb", "two words"] {
            let mut r = remote("http://127.0.0.1:1");
            r.token = Some(token.into());
            let err = r.bearer().err().unwrap();
            assert!(matches!(err, ConnectError::Token), "{token:?}: {err}");
        }
    }

    #[test]
    fn tls_options_need_an_https_url() {
        let mut r = remote("http://127.0.0.1:1");
        r.ca_cert = Some("ca.pem".into());
        let err = r.endpoint().err().unwrap();
        assert!(err.to_string().contains("use https://"), "{err}");
        assert!(err.to_string().contains("--ca-cert"), "{err}");
        let err = remote("ftp://127.0.0.1:1").endpoint().err().unwrap();
        assert!(matches!(err, ConnectError::Scheme(_)), "{err}");
        let err = remote("not a url").endpoint().err().unwrap();
        assert!(matches!(err, ConnectError::NotUrl(_)), "{err}");
    }

    #[test]
    fn pem_files_are_checked_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("ca.pem");
        std::fs::write(&garbage, "hello").unwrap();
        let mut r = remote("https://localhost:1");
        r.ca_cert = Some(garbage);
        let err = r.endpoint().err().unwrap();
        assert!(err.to_string().contains("not a PEM certificate"), "{err}");
        let mut r = remote("https://localhost:1");
        r.client_cert = Some(dir.path().join("missing.pem"));
        let err = r.endpoint().err().unwrap();
        assert!(matches!(err, ConnectError::ClientPair), "{err}");
        r.client_key = Some(dir.path().join("missing.pem"));
        let err = r.endpoint().err().unwrap();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
