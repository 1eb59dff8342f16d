//! Users: accounts ([`accounts`]), API tokens ([`tokens`]), and sign-in
//! sessions and the credentials behind a request ([`sessions`]).

pub(crate) mod accounts;
mod reset;
mod sessions;
pub mod throttle;
mod tokens;

pub use accounts::{Me, User, UserInput, UserView, by_username, create, get, list, me, set_password, update};
pub use reset::{NewPassword, reset_password};
pub use sessions::{LoginInput, Refused, Signed, login, logout, principal_from_session};
pub use throttle::Throttle;
pub use tokens::{ApiToken, NewToken, TokenInput, create_token, principal_from_token, revoke_token, tokens};

/// How long a sign-in session lasts.
pub const SESSION_HOURS: i64 = 12;
