//! Database migrations, applied by `serve` at start-up (unless
//! `database.migrate_on_start = false`) and by the `migrate` command.
//!
//! Add a migration by copying the newest file, renaming it
//! `mYYYYMMDD_NNNNNN_verb_noun.rs`, and appending it to [`Migrator::migrations`].

pub use sea_orm_migration::prelude::*;

mod m20260101_000001_create_users;
mod m20261130_000001_add_claims_issued_at;

/// Runs this service's migrations in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_users::Migration),
            Box::new(m20261130_000001_add_claims_issued_at::Migration),
        ]
    }
}
