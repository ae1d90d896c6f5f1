//! Who may call the API: clients, their roles and their bearer tokens.
//!
//! Operators configure each client in the config file by name, role and
//! the SHA-256 of its token (`[[clients]]`); the server never sees a
//! token at rest, so a leaked config file leaks no credential. A call
//! presents `authorization: Bearer <token>`; [`Clients::authenticate`]
//! hashes it and compares it with every configured hash in constant time.
//!
//! What each role may call is the gRPC edge's business (`grpc::access`);
//! this module knows only who the caller is. [`Registry`] holds the
//! clients in force and swaps them whole on a reload (SIGHUP), so a call
//! sees either the old or the new set, never a mix.

mod rate;
pub mod token;

pub use rate::{RateLimited, RateLimits};

use arc_swap::ArcSwap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Longest client name: it shows up in every history entry and log line.
pub const MAX_CLIENT_NAME_CHARS: usize = 64;

/// What a client is for; what each role may call is listed in
/// `docs/api.md` and enforced by the gRPC edge.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A government portal: submits questions and follows its own.
    Portal,
    /// The core team: the queue, routing and the lifecycle of every
    /// question, and the expert directory.
    Triage,
    /// A dashboard: aggregate figures only, no question text.
    Dashboard,
    /// Operators: everything, including providers, imports and resets.
    Admin,
}

impl Role {
    /// Every role, in the order the docs list them.
    pub const ALL: [Role; 4] = [Role::Portal, Role::Triage, Role::Dashboard, Role::Admin];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Portal => "portal",
            Role::Triage => "triage",
            Role::Dashboard => "dashboard",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[clients]]` entry of the config file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// The client's name, recorded as the actor of everything it does.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// SHA-256 of its token, hex (`kicer token create` prints it). A
    /// client may have several entries while a token is rotated.
    pub token_sha256: String,
}

/// A caller that presented a known token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: Arc<str>,
    role: Role,
}

impl Principal {
    /// The client's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }
}

/// Why the configured clients cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientsError {
    /// A name is empty, too long or has characters outside the safe set.
    #[error(
        "client name `{name}` is not usable: use 1 to {MAX_CLIENT_NAME_CHARS} letters, digits, \
         `.`, `_` or `-` (for example portal-zwolle)"
    )]
    BadName {
        /// The name as written (shortened and escaped).
        name: String,
    },
    /// A hash is not 64 hex digits.
    #[error(
        "client `{name}`: token_sha256 must be 64 hex digits (the SHA-256 that \
         `kicer token create` prints), found {found} characters"
    )]
    BadHash {
        /// The client.
        name: String,
        /// How long the value was.
        found: usize,
    },
    /// One name with two roles: entries of one client are its tokens
    /// during a rotation, so they must agree.
    #[error(
        "client `{name}` is listed as {first} and as {second}: entries with one name are the \
         tokens of one client during a rotation and need the same role; give the other client \
         its own name"
    )]
    RoleConflict {
        /// The client.
        name: String,
        /// The role of its first entry.
        first: Role,
        /// The other role.
        second: Role,
    },
    /// Two clients share a token hash: nobody could tell them apart.
    #[error(
        "clients `{first}` and `{second}` have the same token_sha256: each client needs its own \
         token (`kicer token create`)"
    )]
    SharedToken {
        /// One client.
        first: String,
        /// The other.
        second: String,
    },
}

/// The configured clients, ready to authenticate callers.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    entries: Vec<([u8; 32], Principal)>,
}

impl Clients {
    /// Checks and indexes the config file's entries.
    pub fn new(entries: &[ClientEntry]) -> Result<Clients, ClientsError> {
        let mut roles: BTreeMap<&str, Role> = BTreeMap::new();
        let mut names: BTreeMap<&str, Arc<str>> = BTreeMap::new();
        let mut out: Vec<([u8; 32], Principal)> = Vec::with_capacity(entries.len());
        for e in entries {
            check_name(&e.name)?;
            let hash = parse_hash(&e.token_sha256).ok_or_else(|| ClientsError::BadHash {
                name: e.name.clone(),
                found: e.token_sha256.chars().count(),
            })?;
            if let Some(&first) = roles.get(e.name.as_str()) {
                if first != e.role {
                    return Err(ClientsError::RoleConflict {
                        name: e.name.clone(),
                        first,
                        second: e.role,
                    });
                }
            }
            roles.insert(&e.name, e.role);
            if let Some((_, other)) = out.iter().find(|(h, _)| *h == hash) {
                if other.name() != e.name {
                    return Err(ClientsError::SharedToken {
                        first: other.name().to_string(),
                        second: e.name.clone(),
                    });
                }
                continue;
            }
            let name = names
                .entry(&e.name)
                .or_insert_with(|| Arc::from(e.name.as_str()))
                .clone();
            out.push((hash, Principal { name, role: e.role }));
        }
        Ok(Clients { entries: out })
    }

    /// Whether no client is configured: the server is then open to
    /// whoever reaches it, which it allows on loopback only.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many distinct clients are configured.
    pub fn count(&self) -> usize {
        let mut names: Vec<&str> = self.entries.iter().map(|(_, p)| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    /// The client whose token this is. Every configured hash is compared,
    /// each in constant time, so the time taken says nothing about how
    /// close a guess came.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (hash, principal) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(principal);
            }
        }
        found.cloned()
    }
}

/// The clients and rate limits in force, swapped whole on a reload.
#[derive(Debug)]
pub struct Access {
    /// Who may call.
    pub clients: Clients,
    /// How often each of them may.
    pub rates: rate::Limiter,
}

impl Access {
    /// The clients with their role's rate limits.
    pub fn new(clients: Clients, rates: &RateLimits) -> Access {
        Access {
            clients,
            rates: rate::Limiter::new(rates),
        }
    }
}

impl Default for Access {
    fn default() -> Self {
        Access::new(Clients::default(), &RateLimits::default())
    }
}

/// The [`Access`] in force; the server reads it on every call and a
/// reload replaces it.
#[derive(Debug, Default)]
pub struct Registry {
    current: ArcSwap<Access>,
}

impl Registry {
    /// A registry holding `access`.
    pub fn new(access: Access) -> Registry {
        Registry {
            current: ArcSwap::from_pointee(access),
        }
    }

    /// What is in force now.
    pub fn load(&self) -> Arc<Access> {
        self.current.load_full()
    }

    /// Puts `access` in force for every call from now on.
    pub fn replace(&self, access: Access) {
        self.current.store(Arc::new(access));
    }
}

/// Whether a client name is safe to show in histories, logs and tables.
fn check_name(name: &str) -> Result<(), ClientsError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_CLIENT_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ClientsError::BadName {
            name: crate::domain::input::quoted(name),
        })
    }
}

/// Checks a client name given on the command line (`kicer token create`).
pub fn check_client_name(name: &str) -> Result<(), ClientsError> {
    check_name(name)
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, role: Role, token: &str) -> ClientEntry {
        ClientEntry {
            name: name.into(),
            role,
            token_sha256: token::sha256_hex(token),
        }
    }

    #[test]
    fn a_known_token_names_its_client_and_role() {
        let clients = Clients::new(&[
            entry("portal-zwolle", Role::Portal, "t1"),
            entry("core-team", Role::Triage, "t2"),
        ])
        .unwrap();
        let p = clients.authenticate("t2").unwrap();
        assert_eq!((p.name(), p.role()), ("core-team", Role::Triage));
        assert!(clients.authenticate("t3").is_none());
        assert!(clients.authenticate("").is_none());
        assert_eq!(clients.count(), 2);
    }

    #[test]
    fn a_client_may_have_two_tokens_during_a_rotation() {
        let clients = Clients::new(&[
            entry("portal-zwolle", Role::Portal, "old"),
            entry("portal-zwolle", Role::Portal, "new"),
        ])
        .unwrap();
        assert_eq!(clients.authenticate("old").unwrap().name(), "portal-zwolle");
        assert_eq!(clients.authenticate("new").unwrap().name(), "portal-zwolle");
        assert_eq!(clients.count(), 1);
    }

    #[test]
    fn mistakes_in_the_client_list_are_refused_with_what_to_fix() {
        let err = Clients::new(&[entry("a", Role::Portal, "x"), entry("a", Role::Admin, "y")])
            .unwrap_err();
        assert!(matches!(err, ClientsError::RoleConflict { .. }), "{err}");
        let err = Clients::new(&[entry("a", Role::Portal, "x"), entry("b", Role::Portal, "x")])
            .unwrap_err();
        assert!(err.to_string().contains("own token"), "{err}");
        let err = Clients::new(&[entry("has space", Role::Portal, "x")]).unwrap_err();
        assert!(err.to_string().contains("letters, digits"), "{err}");
        let mut bad = entry("a", Role::Portal, "x");
        bad.token_sha256 = "9f86d0".into();
        let err = Clients::new(&[bad]).unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
    }

    #[test]
    fn hashes_are_read_in_either_case() {
        let mut e = entry("a", Role::Portal, "x");
        e.token_sha256 = e.token_sha256.to_uppercase();
        assert!(Clients::new(&[e]).unwrap().authenticate("x").is_some());
    }

    #[test]
    fn a_reload_swaps_the_clients_whole() {
        let registry = Registry::new(Access::default());
        assert!(registry.load().clients.is_empty());
        let held = registry.load();
        registry.replace(Access::new(
            Clients::new(&[entry("a", Role::Admin, "x")]).unwrap(),
            &RateLimits::default(),
        ));
        assert!(
            held.clients.is_empty(),
            "a call in flight keeps what it read"
        );
        assert!(registry.load().clients.authenticate("x").is_some());
    }
}
