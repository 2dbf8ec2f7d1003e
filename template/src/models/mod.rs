//! Queries and behaviour on top of the [`crate::entities`].

pub mod users;
