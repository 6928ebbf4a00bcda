//! The ESF+ participant report (api.md §10, §13.6; domain brief §5): the common indicators of
//! Reg. (EU) 2021/1057 Annex I that the stored data can answer, over the participants whose
//! programme started in `[from, to]`, each split by sex and counted per participant (distinct).
//!
//! One SQL statement: a `UNION ALL` of one aggregate per indicator, grouped by sex.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::outcomes::{days_after, load, scope_bind, scope_clause, years_before, Bind};
use crate::db::{AnyConnection, Backend};
use crate::http::AppError;
use crate::participants::access::Caseload;

/// Participants by sex; every key always present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct BySex {
    pub female: i64,
    pub male: i64,
    pub unknown: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Indicator {
    #[schema(example = "EECO02")]
    pub code: String,
    /// `false` for codes the domain brief has not verified against Poland's list.
    pub code_confirmed: bool,
    pub label: String,
    /// Participants (distinct).
    pub count: i64,
    pub by_sex: BySex,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EsfReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Participant indicators (EECO…) first, then result indicators (EECR…), by code.
    pub indicators: Vec<Indicator>,
    pub notes: Vec<String>,
}

/// One indicator: its code, whether the code is confirmed, its label, and the condition (over
/// the programme `p` and the participant `pa`) that counts a participant.
struct Definition {
    code: &'static str,
    confirmed: bool,
    label: &'static str,
    condition: fn(Backend) -> String,
}

const EMPLOYED_KINDS: &str = "'employment_contract', 'civil_law_contract', 'self_employment', \
                              'social_cooperative', 'supported_employment'";

/// A non-retracted outcome of one of `kinds` achieved from the programme's start to 28 days
/// after its exit ("on leaving": within four weeks, the domain brief's convention).
fn on_leaving(backend: Backend, kinds: &str) -> String {
    format!(
        "p.exit_date IS NOT NULL AND EXISTS (SELECT 1 FROM outcomes o \
         WHERE o.participant_id = pa.id AND o.kind IN ({kinds}) AND o.status <> 'retracted' \
         AND o.achieved_on >= p.start_date AND o.achieved_on <= {until})",
        until = days_after(backend, "p.exit_date", 28),
    )
}

fn labour(status: &str) -> String {
    format!("pa.labour_status_at_entry IN ({status})")
}

fn education(level: &str) -> String {
    format!("pa.education_level = '{level}'")
}

const DEFINITIONS: &[Definition] = &[
    Definition {
        code: "EECO01",
        confirmed: false,
        label: "Participants",
        condition: |_| "1 = 1".into(),
    },
    Definition {
        code: "EECO02",
        confirmed: true,
        label: "Unemployed, including long-term unemployed",
        condition: |_| labour("'unemployed', 'long_term_unemployed'"),
    },
    Definition {
        code: "EECO03",
        confirmed: false,
        label: "Long-term unemployed",
        condition: |_| labour("'long_term_unemployed'"),
    },
    Definition {
        code: "EECO04",
        confirmed: false,
        label: "Inactive",
        condition: |_| labour("'inactive'"),
    },
    Definition {
        code: "EECO05",
        confirmed: false,
        label: "Employed, including self-employed",
        condition: |_| labour("'employed'"),
    },
    Definition {
        code: "EECO06",
        confirmed: false,
        label: "Below 18 years of age (at the programme's start)",
        condition: |b| format!("pa.birth_date > {}", years_before(b, "p.start_date", 18)),
    },
    Definition {
        code: "EECO07",
        confirmed: false,
        label: "Aged 18 to 29 (at the programme's start)",
        condition: |b| {
            format!(
                "pa.birth_date <= {} AND pa.birth_date > {}",
                years_before(b, "p.start_date", 18),
                years_before(b, "p.start_date", 30)
            )
        },
    },
    Definition {
        code: "EECO08",
        confirmed: false,
        label: "Aged 55 and above (at the programme's start)",
        condition: |b| format!("pa.birth_date <= {}", years_before(b, "p.start_date", 55)),
    },
    Definition {
        code: "EECO09",
        confirmed: false,
        label: "With lower secondary education or less (ISCED 0–2)",
        condition: |_| education("isced_0_2"),
    },
    Definition {
        code: "EECO10",
        confirmed: false,
        label: "With upper secondary or post-secondary non-tertiary education (ISCED 3–4)",
        condition: |_| education("isced_3_4"),
    },
    Definition {
        code: "EECO11",
        confirmed: false,
        label: "With tertiary education (ISCED 5–8)",
        condition: |_| education("isced_5_8"),
    },
    Definition {
        code: "EECO12",
        confirmed: true,
        label: "Participants with disabilities",
        condition: |_| "pa.disability = TRUE".into(),
    },
    Definition {
        code: "EECO16",
        confirmed: false,
        label: "Homeless or affected by housing exclusion (risk group homeless_exit_programme)",
        condition: |_| {
            "EXISTS (SELECT 1 FROM participant_risk_groups rg WHERE rg.participant_id = pa.id \
             AND rg.risk_group_code = 'homeless_exit_programme')"
                .into()
        },
    },
    Definition {
        code: "EECR02",
        confirmed: false,
        label: "Engaged in education or training upon leaving (within 4 weeks of exit)",
        condition: |b| on_leaving(b, "'education'"),
    },
    Definition {
        code: "EECR03",
        confirmed: false,
        label: "Gaining a qualification upon leaving (within 4 weeks of exit)",
        condition: |b| on_leaving(b, "'qualification', 'training_completed'"),
    },
    Definition {
        code: "EECR04",
        confirmed: false,
        label: "In employment, including self-employment, upon leaving (within 4 weeks of exit)",
        condition: |b| on_leaving(b, EMPLOYED_KINDS),
    },
    Definition {
        code: "EECR05",
        confirmed: false,
        label: "In employment, including self-employment, six months after leaving \
                (6-month follow-up result employed)",
        condition: |_| {
            "p.exit_date IS NOT NULL AND EXISTS (SELECT 1 FROM follow_ups f \
             WHERE f.programme_id = p.id AND f.months_after_exit = 6 AND f.result = 'employed')"
                .into()
        },
    },
];

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    sex: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn report(
    conn: &mut AnyConnection,
    caseload: Caseload,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<EsfReport, AppError> {
    let backend = conn.backend();
    let sex = "CASE WHEN pa.sex IN ('female', 'male') THEN pa.sex ELSE 'unknown' END";
    let scope = scope_clause(&caseload, "p.participant_id");
    let mut parts = Vec::with_capacity(DEFINITIONS.len());
    let mut binds = Vec::new();
    for d in DEFINITIONS {
        parts.push(format!(
            "SELECT '{code}' AS code, {sex} AS sex, COUNT(DISTINCT pa.id) AS n \
             FROM programmes p JOIN participants pa ON pa.id = p.participant_id \
             WHERE p.start_date >= ? AND p.start_date <= ?{scope} AND ({condition}) \
             GROUP BY {sex}",
            code = d.code,
            condition = (d.condition)(backend),
        ));
        binds.push(Bind::Date(from));
        binds.push(Bind::Date(to));
        binds.extend(scope_bind(&caseload));
    }
    let rows: Vec<Row> = load(conn, &parts.join(" UNION ALL "), binds)?;
    let indicators = DEFINITIONS
        .iter()
        .map(|d| {
            let mut by_sex = BySex::default();
            for row in rows.iter().filter(|r| r.code == d.code) {
                match row.sex.as_str() {
                    "female" => by_sex.female += row.n,
                    "male" => by_sex.male += row.n,
                    _ => by_sex.unknown += row.n,
                }
            }
            Indicator {
                code: d.code.to_owned(),
                code_confirmed: d.confirmed,
                label: d.label.to_owned(),
                count: by_sex.female + by_sex.male + by_sex.unknown,
                by_sex,
            }
        })
        .collect();
    Ok(EsfReport {
        from,
        to,
        indicators,
        notes: notes(),
    })
}

fn notes() -> Vec<String> {
    [
        "The cohort is the participants whose programme started between from and to; each \
         indicator counts participants (distinct), split by sex.",
        "code_confirmed is true only for the codes the domain brief confirms (EECO02, EECO12); \
         the other codes follow the sequence of Reg. (EU) 2021/1057 Annex I and are not verified \
         against Poland's list.",
        "Labour status (EECO02–05), education (EECO09–11) and disability (EECO12) are the values \
         recorded at entry; long-term unemployment is the recorded status, not the registration \
         history; ages (EECO06–08) are at the programme's start; EECO16 is membership of the \
         risk group homeless_exit_programme.",
        "Result indicators EECR02–04 count exited participants with an outcome (not retracted) of \
         the matching kind achieved from the programme's start to 28 days after its exit; EECR05 \
         counts those whose 6-month follow-up found them employed.",
        "Figures cover only the participants you may see (all for managers and auditors, your \
         caseload otherwise).",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}
