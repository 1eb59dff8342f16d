//! Pure rules of the programme: no I/O, unit-tested without a database.

pub mod audit_words;
pub mod burnup;
pub mod circular;
pub mod credit_code;
pub mod dispute;
pub mod dispute_figures;
pub mod five_entries;
pub mod guidance;
pub mod issuers;
pub mod money;
pub mod notices;
pub mod progress;
pub mod station;
pub mod text;
pub mod visit;
pub mod workdays;

pub use circular::DeliveryStatus;
pub use guidance::{GuidanceFilter, GuidanceStatus, ReviewKind};
pub use notices::DeliveryKind;
pub use progress::Basis;
pub use station::{Category, StationStatus, UnitKind};
pub use visit::{ItemResult, VisitKind};
