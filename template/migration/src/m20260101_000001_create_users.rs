//! The local copy of the Auth service's users.
//!
//! Column sizes follow Django's `auth_user` so that every value the Auth service
//! can hold fits here: `username` 150, `email` 254, names 150.

use sea_orm_migration::{
    prelude::*,
    schema::{big_pk_auto, boolean, string_len, string_len_uniq, timestamp_with_time_zone},
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Users::Table)
            .if_not_exists()
            .col(big_pk_auto(Users::Id))
            // The Auth service's `user_uuid` claim: the key of the upsert.
            .col(string_len_uniq(Users::Username, 150))
            .col(string_len(Users::Email, 254))
            .col(string_len(Users::FirstName, 150))
            .col(string_len(Users::LastName, 150))
            .col(boolean(Users::IsStaff).default(false))
            .col(boolean(Users::IsSuperuser).default(false))
            // Local only: the token never changes it.
            .col(boolean(Users::IsActive).default(true))
            .col(timestamp_with_time_zone(Users::DateJoined))
            .col(timestamp_with_time_zone(Users::UpdatedAt));
        if manager.get_database_backend() == sea_orm::DbBackend::MySql {
            // MySQL compares text case-insensitively by default, which would
            // make the users `Alice` and `alice` one row: a binary collation
            // keeps usernames (and claim changes) exact.
            table.character_set("utf8mb4").collate("utf8mb4_bin");
        }
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    FirstName,
    LastName,
    IsStaff,
    IsSuperuser,
    IsActive,
    DateJoined,
    UpdatedAt,
}
