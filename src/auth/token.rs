//! New bearer tokens and the config entry that admits them
//! (`kicer token create`).

use super::Role;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// Random bytes in a token: 256 bits, beyond guessing at any rate a
/// server answers.
pub const TOKEN_BYTES: usize = 32;
/// What every token starts with, so secret scanners and people can tell a
/// kicer token from other strings.
pub const TOKEN_PREFIX: &str = "kicer_";

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed ({0}); try again")]
pub struct RandomError(String);

/// A new random token: [`TOKEN_PREFIX`] and 64 hex digits.
pub fn create() -> Result<String, RandomError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

/// The SHA-256 of a token as the config file holds it (lowercase hex).
pub fn sha256_hex(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The `[[clients]]` block that admits a token.
pub fn config_entry(name: &str, role: Role, token: &str) -> String {
    format!(
        "[[clients]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(token)
    )
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ClientEntry, Clients};

    #[test]
    fn tokens_are_long_random_and_different() {
        let a = create().unwrap();
        let b = create().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert!(a.starts_with(TOKEN_PREFIX));
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_token() {
        // The example of the issue: sha256("test").
        assert_eq!(
            sha256_hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn the_printed_entry_admits_the_token() {
        let token = create().unwrap();
        let block = config_entry("portal-zwolle", Role::Portal, &token);
        #[derive(serde::Deserialize)]
        struct File {
            clients: Vec<ClientEntry>,
        }
        let file: File = toml::from_str(&block).unwrap();
        let clients = Clients::new(&file.clients).unwrap();
        let p = clients.authenticate(&token).unwrap();
        assert_eq!((p.name(), p.role()), ("portal-zwolle", Role::Portal));
    }
}
