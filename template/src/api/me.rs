//! The signed-in user.

use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{ApiTags, User};
use crate::auth::{Authenticated, Protected};

/// `/me`.
#[derive(Debug)]
pub struct MeApi;

#[derive(Debug, ApiResponse)]
enum MeResponse {
    /// The signed-in user, as this service knows them.
    #[oai(status = 200)]
    Ok(Json<User>),
}

#[OpenApi(tag = "ApiTags::Me")]
impl MeApi {
    /// The current user
    ///
    /// Who the Auth service's token says you are, as stored here: the row is
    /// created on your first request and follows your claims when they change.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, user: Authenticated) -> Protected<MeResponse> {
        MeResponse::Ok(Json(User::from(&*user))).into()
    }
}
