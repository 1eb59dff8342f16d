//! bayige: compliance auditing for 12315 consumer-rights service stations
//! (消费维权服务站) and the 八个一 standard.

pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod db;
pub mod documents;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod sheets;
pub mod standard;
