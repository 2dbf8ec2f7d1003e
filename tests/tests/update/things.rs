//! The team's own endpoint, added after generation (README, "Adding endpoints").

use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use crate::auth::{Authenticated, Protected, StaffUser};

#[derive(Debug)]
pub struct ThingsApi;

#[derive(Debug, ApiResponse)]
enum ThingsResponse {
    /// The things.
    #[oai(status = 200)]
    Ok(Json<Vec<String>>),
}

#[OpenApi]
impl ThingsApi {
    /// My things (any signed-in user)
    #[oai(path = "/things", method = "get")]
    async fn mine(&self, user: Authenticated) -> Protected<ThingsResponse> {
        ThingsResponse::Ok(Json(vec![format!("{}'s thing", user.username)])).into()
    }

    /// Every thing (staff only: others get 403)
    #[oai(path = "/things/all", method = "get")]
    async fn all(&self, _staff: StaffUser) -> Protected<ThingsResponse> {
        ThingsResponse::Ok(Json(vec![])).into()
    }
}
