//! Settings queries. Functions take a connection; no HTTP, no policy.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{NewSettings, Settings, SettingsRow};
use crate::db::schema::settings;
use crate::db::AnyConnection;

/// The one row's id.
const ID: i32 = 1;

/// The unit's settings (seeded by migration, so always present).
pub fn load(conn: &mut AnyConnection) -> QueryResult<Settings> {
    let row: SettingsRow = settings::table
        .find(ID)
        .select(SettingsRow::as_select())
        .first(conn)?;
    Settings::try_from(row).map_err(|e| diesel::result::Error::DeserializationError(e.into()))
}

/// The current version, without decoding the rest.
pub fn version(conn: &mut AnyConnection) -> QueryResult<i64> {
    settings::table
        .find(ID)
        .select(settings::version)
        .first(conn)
}

/// Replaces every field as a compare-and-swap on `version`; answers the number of rows changed
/// (0 when the version has moved on).
pub fn replace(
    conn: &mut AnyConnection,
    new: &NewSettings,
    expected_version: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let follow_up_months = serde_json::to_string(&new.follow_up_months)
        .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    diesel::update(
        settings::table
            .filter(settings::id.eq(ID))
            .filter(settings::version.eq(expected_version)),
    )
    .set((
        settings::unit_name.eq(new.unit_name.as_str()),
        settings::unit_kind.eq(new.unit_kind.as_str()),
        settings::programme_months.eq(new.programme_months),
        settings::follow_up_months.eq(follow_up_months),
        settings::retention_years.eq(new.retention_years),
        settings::project_retention_until.eq(new.project_retention_until),
        settings::review_interval_days.eq(new.review_interval_days),
        settings::version.eq(settings::version + 1),
        settings::updated_at.eq(now),
    ))
    .execute(conn)
}
