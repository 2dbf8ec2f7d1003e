//! Queries and behaviour on top of the [`crate::entities`].

mod upsert;
pub mod users;
