//! SeaORM entities: table definitions only. Behaviour lives in [`crate::models`].

pub mod users;
