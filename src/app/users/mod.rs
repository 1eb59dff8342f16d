//! Users: accounts ([`accounts`]), API tokens ([`tokens`]), and sign-in
//! sessions and the credentials behind a request ([`sessions`]).

pub(crate) mod accounts;
mod sessions;
mod tokens;

pub use accounts::{Me, User, UserInput, UserView, by_username, create, get, list, me, set_password, update};
pub use sessions::{LoginInput, Refused, Signed, login, logout, principal_from_session};
pub use tokens::{ApiToken, NewToken, TokenInput, create_token, principal_from_token, revoke_token, tokens};

/// Consecutive failed sign-ins before the account is locked.
pub const MAX_FAILURES: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// How long a sign-in session lasts.
pub const SESSION_HOURS: i64 = 12;
