//! The one integration-test binary: black-box tests over HTTP against the
//! app on port 0, on SQLite always and on PostgreSQL when
//! `BAYIGE_TEST_DATABASE_URL` is set.

mod smtp;
mod support;

mod auth;
mod circulars;
mod cli;
mod demo;
mod foundation;
mod stations;
mod visits;
