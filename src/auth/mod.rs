//! Who is asking: principals, roles and unit scopes; password hashing
//! (Argon2id) and random tokens; the policy that decides what each may do.

pub mod policy;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::text_enum;

text_enum!(
    /// What a user is allowed to do (see [`policy`]).
    Role {
        Admin = "admin" / "管理员",
        Inspector = "inspector" / "检查员",
        CountyLead = "county_lead" / "县级负责人",
        Viewer = "viewer" / "只读用户",
        /// A station's own account (站长/联络员), bound to one station.
        Station = "station" / "服务站",
    }
);

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Session,
    Token,
    /// The service itself (demo loading, the schedule, the command line).
    System,
}

/// The one asking, resolved once per request.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub user_id: Option<i32>,
    pub username: String,
    pub role: Role,
    /// The units the principal acts in; empty = city-wide (admin, viewer).
    pub units: Vec<i32>,
    /// The station a station account is bound to (role `station` only).
    pub station: Option<i32>,
    pub via: Via,
}

impl Principal {
    /// The service acting on its own (`name` says which part, e.g. `demo`).
    pub fn system(name: &str) -> Self {
        Principal {
            user_id: None,
            username: format!("system:{name}"),
            role: Role::Admin,
            units: Vec::new(),
            station: None,
            via: Via::System,
        }
    }
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

fn salt() -> Result<SaltString, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::internal("no randomness", anyhow::anyhow!("{e}")))?;
    SaltString::encode_b64(&bytes).map_err(|e| AppError::internal("salt", anyhow::anyhow!("{e}")))
}

/// An Argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = salt()?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("cannot hash the password", anyhow::anyhow!("{e}")))
}

/// A hash of a password nobody has, to spend the same time on unknown users.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no user has this password").unwrap_or_default())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A new random secret (256 bits) with a readable prefix, e.g. `byg_...`.
pub fn new_secret(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::internal("no randomness", anyhow::anyhow!("{e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// What is stored of a token or session secret: its SHA-256.
pub fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_hashes_are_salted() {
        let h1 = hash_password("correct horse battery").expect("hash");
        let h2 = hash_password("correct horse battery").expect("hash");
        assert!(h1.starts_with("$argon2id$"));
        assert_ne!(h1, h2);
        assert!(verify_password("correct horse battery", &h1));
        assert!(!verify_password("Correct horse battery", &h1));
        assert!(!verify_password("anything", ""), "no password set: nobody signs in");
    }

    #[test]
    fn secrets_are_random_and_stored_hashed() {
        let a = new_secret("byg_").expect("secret");
        let b = new_secret("byg_").expect("secret");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), a);
    }
}
