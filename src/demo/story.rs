//! The demo club on paper: who comes when, what happens to them, which groups meet. Pure
//! computation from the seed and the last day, so the same seed gives the same club, and a unit
//! test can check the coverage (every risk group, exit reason, diagnosis and outcome kind)
//! without a database.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::rng::Rng;
use crate::participants::pesel::{Pesel, Sex};

/// The demo's staff, by the job they do in the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Who {
    Admin,
    Manager,
    Psychologist,
    SocialWorker1,
    SocialWorker2,
    Counsellor1,
    Counsellor2,
    Auditor,
}

pub struct StaffSpec {
    pub who: Who,
    pub email: &'static str,
    pub full_name: &'static str,
    pub roles: &'static [&'static str],
    /// Printed at the end; must pass the password rules (12+ characters, not the e-mail name).
    pub password: &'static str,
}

pub const UNIT_NAME: &str = "Klub Integracji Społecznej »Przykładowa Przystań« (DEMO)";

pub const STAFF: &[StaffSpec] = &[
    StaffSpec {
        who: Who::Admin,
        email: "admin@przystan.example",
        full_name: "Adam Informatyk (demo)",
        roles: &["admin"],
        password: "demo-informatyk-2026",
    },
    StaffSpec {
        who: Who::Manager,
        email: "manager@przystan.example",
        full_name: "Małgorzata Kierownik (demo)",
        roles: &["manager"],
        password: "demo-kierownik-2026",
    },
    StaffSpec {
        who: Who::Psychologist,
        email: "psychologist@przystan.example",
        full_name: "Paulina Psycholog (demo)",
        roles: &["psychologist"],
        password: "demo-psycholog-2026",
    },
    StaffSpec {
        who: Who::SocialWorker1,
        email: "social.worker@przystan.example",
        full_name: "Ewa Socjalna (demo)",
        roles: &["social_worker"],
        password: "demo-socjalna-2026",
    },
    StaffSpec {
        who: Who::SocialWorker2,
        email: "social.worker2@przystan.example",
        full_name: "Sebastian Socjalny (demo)",
        roles: &["social_worker"],
        password: "demo-socjalny-2026",
    },
    StaffSpec {
        who: Who::Counsellor1,
        email: "counsellor@przystan.example",
        full_name: "Dorota Doradczyni (demo)",
        roles: &["counsellor"],
        password: "demo-doradczyni-2026",
    },
    StaffSpec {
        who: Who::Counsellor2,
        email: "counsellor2@przystan.example",
        full_name: "Damian Doradca (demo)",
        roles: &["counsellor"],
        password: "demo-doradca-2026",
    },
    StaffSpec {
        who: Who::Auditor,
        email: "auditor@przystan.example",
        full_name: "Alicja Kontrolerka (demo)",
        roles: &["auditor"],
        password: "demo-kontrola-2026",
    },
];

pub const RISK_GROUPS: [&str; 8] = [
    "homeless_exit_programme",
    "alcohol_after_therapy",
    "drug_after_therapy",
    "mental_illness",
    "long_term_unemployed",
    "released_prisoner",
    "refugee_integration",
    "disability",
];

pub const EXIT_REASONS: [&str; 8] = [
    "completed",
    "employed",
    "dropped_out",
    "expelled",
    "moved",
    "health",
    "death",
    "other",
];

pub const OUTCOME_KINDS: [&str; 14] = [
    "employment_contract",
    "civil_law_contract",
    "self_employment",
    "social_cooperative",
    "supported_employment",
    "education",
    "training_completed",
    "qualification",
    "housing_secured",
    "abstinence_maintained",
    "family_roles_restored",
    "debt_settled",
    "health_care_started",
    "other_social",
];

pub const DIAGNOSIS_KINDS: [&str; 7] = [
    "general_survey",
    "interests_questionnaire",
    "psychometric",
    "psychological",
    "social",
    "vocational",
    "holland",
];

/// How a participant's story ends (as of the last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Referred,
    Rejected,
    Qualified,
    /// In the programme, started about this many months before the last day.
    InProgramme(u32),
    Exited(&'static str),
}

pub struct Person {
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub pesel: Option<String>,
    /// `(kind, number, issuing country)` for people without a PESEL.
    pub id_document: Option<(&'static str, String, &'static str)>,
    pub education: &'static str,
    pub labour_status: &'static str,
    pub disability: bool,
    pub risk_groups: Vec<&'static str>,
    pub phone: String,
    pub street: String,
    pub under_guardianship: bool,
}

pub struct Diagnosis {
    pub on: NaiveDate,
    pub kind: &'static str,
    pub author: Who,
    pub holland: Option<[i64; 6]>,
}

pub struct Outcome {
    pub on: NaiveDate,
    pub kind: &'static str,
    /// Recorded wrongly first (another kind), retracted, then recorded right: the demo shows a
    /// retraction.
    pub retract_first: bool,
    pub verify_on: Option<NaiveDate>,
}

pub struct FollowUp {
    pub months: u32,
    pub contact_on: NaiveDate,
    pub result: &'static str,
}

pub struct Story {
    pub person: Person,
    pub fate: Fate,
    pub lead: Who,
    pub counsellor: Who,
    pub referral_source: &'static str,
    pub referred_on: NaiveDate,
    /// The qualification decision (qualified, or rejected for `Fate::Rejected`).
    pub decided_on: Option<NaiveDate>,
    pub start: Option<NaiveDate>,
    /// `None`: the unit's default (12 months).
    pub planned_months: Option<u32>,
    pub exit: Option<NaiveDate>,
    pub contact_consent: bool,
    pub image_consent: bool,
    pub image_withdrawn_on: Option<NaiveDate>,
    pub diagnoses: Vec<Diagnosis>,
    /// Draft on this day, activated the next (needs a final diagnosis first).
    pub plan_on: Option<NaiveDate>,
    pub reviews: Vec<NaiveDate>,
    pub revise_on: Option<NaiveDate>,
    /// `(goal index, achieved on)`.
    pub goals_achieved: Vec<(usize, NaiveDate)>,
    pub action_done_on: Option<NaiveDate>,
    pub outcomes: Vec<Outcome>,
    pub follow_ups: Vec<FollowUp>,
    pub re_referred_on: Option<NaiveDate>,
    pub anonymised_on: Option<NaiveDate>,
    /// Takes the vocational track (job-search workshop) and the computer course.
    pub job_search: bool,
    pub computer: bool,
}

impl Story {
    /// In the programme on day `d` (the exit day itself no longer counts).
    pub fn attends_on(&self, d: NaiveDate) -> bool {
        match self.start {
            Some(s) => s <= d && self.exit.is_none_or(|x| d < x),
            None => false,
        }
    }

    /// The last day the programme is open (the exit, or the day before the demo's today).
    pub fn open_until(&self, last: NaiveDate) -> NaiveDate {
        self.exit.map_or(last, |x| x.min(last))
    }
}

pub struct Series {
    pub activity: &'static str,
    pub weekday: Weekday,
    pub hour: u32,
    pub minutes: i64,
    pub facilitators: &'static [Who],
    /// Who records the attendance: a facilitator seeing every attendee, or the manager.
    pub recorder: Who,
    pub titles: &'static [&'static str],
    pub location: &'static str,
}

pub const SERIES: &[Series] = &[
    Series {
        activity: "support_group",
        weekday: Weekday::Mon,
        hour: 10,
        minutes: 90,
        facilitators: &[Who::Psychologist],
        recorder: Who::Psychologist,
        titles: &["Grupa wsparcia"],
        location: "Sala 1",
    },
    Series {
        activity: "psychoeducation_workshop",
        weekday: Weekday::Tue,
        hour: 10,
        minutes: 120,
        facilitators: &[Who::Psychologist, Who::SocialWorker1],
        recorder: Who::Psychologist,
        titles: &[
            "Warsztat psychoedukacyjny: komunikacja",
            "Warsztat psychoedukacyjny: asertywność",
            "Warsztat psychoedukacyjny: poczucie własnej wartości",
            "Warsztat psychoedukacyjny: radzenie sobie ze stresem",
            "Warsztat psychoedukacyjny: wyznaczanie celów",
        ],
        location: "Sala 1",
    },
    Series {
        activity: "job_search_workshop",
        weekday: Weekday::Wed,
        hour: 10,
        minutes: 120,
        facilitators: &[Who::Counsellor1],
        recorder: Who::Manager,
        titles: &[
            "Warsztat aktywnego poszukiwania pracy: CV i list motywacyjny",
            "Warsztat aktywnego poszukiwania pracy: rozmowa kwalifikacyjna",
            "Warsztat aktywnego poszukiwania pracy: oferty pracy w internecie",
            "Warsztat aktywnego poszukiwania pracy: prawo pracy i BHP",
        ],
        location: "Sala 2",
    },
    Series {
        activity: "computer_course",
        weekday: Weekday::Thu,
        hour: 9,
        minutes: 180,
        facilitators: &[Who::Counsellor2],
        recorder: Who::Manager,
        titles: &[
            "Kurs komputerowy: podstawy obsługi komputera",
            "Kurs komputerowy: edytor tekstu",
            "Kurs komputerowy: arkusz kalkulacyjny",
            "Kurs komputerowy: poczta i bezpieczeństwo w sieci",
            "Kurs komputerowy: e-urząd i profil zaufany",
        ],
        location: "Pracownia komputerowa",
    },
];

pub struct SessionSpec {
    pub series: usize,
    pub day: NaiveDate,
    pub title: &'static str,
    /// Story indexes of the participants in the programme on that day who belong to the group.
    pub attendees: Vec<usize>,
    /// Called off (the facilitator is ill): cancelled instead of recorded.
    pub cancelled: bool,
}

pub struct Club {
    /// The first day of the demo (staff and settings are set up then).
    pub first_day: NaiveDate,
    /// The demo's today: everything happens before it; sessions of the coming week are planned.
    pub today: NaiveDate,
    pub stories: Vec<Story>,
    pub sessions: Vec<SessionSpec>,
    /// Sessions of the coming week, planned on the last day (nobody has attended yet).
    pub upcoming: Vec<SessionSpec>,
}

/// The demo runs 18 months, so that a job taken in its first months has reached the 12-month
/// follow-up; its weekly groups meet through all of them.
pub const MONTHS: u32 = 18;

const FEMALE: &[&str] = &[
    "Anna",
    "Katarzyna",
    "Małgorzata",
    "Agnieszka",
    "Barbara",
    "Krystyna",
    "Elżbieta",
    "Zofia",
    "Joanna",
    "Magdalena",
    "Monika",
    "Beata",
    "Dorota",
    "Jadwiga",
    "Halina",
    "Renata",
    "Iwona",
    "Aleksandra",
    "Natalia",
    "Wiesława",
];
const MALE: &[&str] = &[
    "Piotr",
    "Krzysztof",
    "Tomasz",
    "Andrzej",
    "Paweł",
    "Marek",
    "Michał",
    "Grzegorz",
    "Jan",
    "Józef",
    "Łukasz",
    "Adam",
    "Zbigniew",
    "Ryszard",
    "Dariusz",
    "Mariusz",
    "Jacek",
    "Kamil",
    "Rafał",
    "Wojciech",
];
/// (male, female) forms.
const SURNAMES: &[(&str, &str)] = &[
    ("Nowak", "Nowak"),
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Kowalczyk", "Kowalczyk"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"),
    ("Dąbrowski", "Dąbrowska"),
    ("Kozłowski", "Kozłowska"),
    ("Jankowski", "Jankowska"),
    ("Mazur", "Mazur"),
    ("Kwiatkowski", "Kwiatkowska"),
    ("Krawczyk", "Krawczyk"),
    ("Piotrowski", "Piotrowska"),
    ("Grabowski", "Grabowska"),
    ("Pawłowski", "Pawłowska"),
    ("Michalski", "Michalska"),
];
/// People without a PESEL (refugees in an integration programme): (first, last, sex, country).
const FOREIGN: &[(&str, &str, Sex, &str)] = &[
    ("Olena", "Kovalenko", Sex::Female, "UA"),
    ("Andriy", "Melnyk", Sex::Male, "UA"),
    ("Oksana", "Bondarenko", Sex::Female, "UA"),
    ("Ahmad", "Haddad", Sex::Male, "SY"),
    ("Maryna", "Lysenko", Sex::Female, "BY"),
    ("Yusuf", "Karimi", Sex::Male, "AF"),
];
const STREETS: &[&str] = &[
    "Ogrodowa",
    "Lipowa",
    "Polna",
    "Leśna",
    "Słoneczna",
    "Krótka",
    "Szkolna",
    "Kwiatowa",
];

/// Public holidays on fixed dates (month, day): the club is closed.
const HOLIDAYS: &[(u32, u32)] = &[
    (1, 1),
    (1, 6),
    (5, 1),
    (5, 3),
    (8, 15),
    (11, 1),
    (11, 11),
    (12, 24),
    (12, 25),
    (12, 26),
];

fn months_before(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(m)).unwrap_or(d)
}

/// `exit + months`, clamped to the month's end: the service's rule for follow-up due dates.
pub fn plus_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_add_months(Months::new(m)).unwrap_or(d)
}

/// The fates of the 60 participants: every exit reason, programmes begun in each of the last 12
/// months, people still waiting for a decision or a start, and some turned away.
fn fates() -> Vec<Fate> {
    let mut fates = Vec::new();
    for (reason, n) in [
        ("completed", 6),
        ("employed", 6),
        ("dropped_out", 3),
        ("expelled", 2),
        ("moved", 2),
        ("health", 2),
        ("death", 1),
        ("other", 2),
    ] {
        fates.extend(std::iter::repeat_n(Fate::Exited(reason), n));
    }
    fates.extend((0..25).map(|i| Fate::InProgramme(i % 12)));
    fates.extend(std::iter::repeat_n(Fate::Qualified, 3));
    fates.extend(std::iter::repeat_n(Fate::Referred, 5));
    fates.extend(std::iter::repeat_n(Fate::Rejected, 3));
    fates
}

pub fn plan(seed: u64, today: NaiveDate) -> Club {
    let mut rng = Rng::new(seed);
    let first_day = months_before(today, MONTHS);
    let last = today - Duration::days(1);
    let mut used_pesels = std::collections::HashSet::new();
    // The walkthrough registers the domain brief's Tomasz Przykładowy: keep his PESEL free.
    used_pesels.insert("80010112357".to_owned());
    let mut stories = Vec::new();
    let mut reason_seen: std::collections::HashMap<&str, usize> = Default::default();
    let mut social_turn = 0usize;
    let mut foreign_turn = 0usize;

    for (i, fate) in fates().into_iter().enumerate() {
        let k = match fate {
            Fate::Exited(r) => {
                let n = reason_seen.entry(r).or_default();
                *n += 1;
                *n - 1
            }
            _ => 0,
        };
        // Risk groups: a rotation guarantees every group, a second group for some.
        let mut groups = vec![RISK_GROUPS[i % RISK_GROUPS.len()]];
        if i % 3 == 0 {
            let second = RISK_GROUPS[(i / 3 + 4) % RISK_GROUPS.len()];
            if !groups.contains(&second) {
                groups.push(second);
            }
        }
        let foreign = groups.contains(&"refugee_integration") && foreign_turn < FOREIGN.len();
        let person = person(
            &mut rng,
            i,
            foreign.then(|| {
                foreign_turn += 1;
                FOREIGN[foreign_turn - 1]
            }),
            groups,
            &mut used_pesels,
            today,
        );
        let lead = if i % 2 == 0 {
            Who::SocialWorker1
        } else {
            Who::SocialWorker2
        };
        let counsellor = if i % 3 == 0 {
            Who::Counsellor2
        } else {
            Who::Counsellor1
        };
        let source = *rng.pick(&["ops", "ops", "ops", "pup", "pup", "pcpr", "self", "ngo"]);

        // The programme's dates by fate.
        let (start, exit, planned_months) = match fate {
            Fate::Exited(reason) => {
                let planned = (reason == "completed").then(|| *rng.pick(&[6u32, 9, 12]));
                let length = match (reason, planned) {
                    (_, Some(m)) => m as i64 * 30,
                    ("employed", _) if k < 3 => rng.range(90, 100),
                    ("employed", _) => rng.range(90, 270),
                    ("dropped_out", _) => rng.range(30, 120),
                    ("expelled", _) => rng.range(60, 150),
                    ("moved", _) => rng.range(60, 180),
                    ("health", _) => rng.range(45, 180),
                    ("death", _) => rng.range(90, 240),
                    _ => rng.range(30, 150),
                };
                let earliest = first_day + Duration::days(35);
                let latest = last - Duration::days(length + 12);
                let start = if reason == "employed" && k < 3 {
                    // Early leavers for a job: their 12-month follow-up falls due in the demo.
                    earliest + Duration::days(rng.range(0, 15))
                } else {
                    earliest + Duration::days(rng.range(0, (latest - earliest).num_days().max(0)))
                };
                let exit = match planned {
                    // Completed: the planned end (start + months − 1 day).
                    Some(m) => plus_months(start, m) - Duration::days(1),
                    None => start + Duration::days(length),
                };
                (Some(start), Some(exit), planned)
            }
            Fate::InProgramme(m) => {
                let start = months_before(today, m) - Duration::days(rng.range(3, 20));
                (Some(start), None, None)
            }
            _ => (None, None, None),
        };
        let (referred_on, decided_on) = match (fate, start) {
            (_, Some(s)) => {
                let r = s - Duration::days(rng.range(12, 30));
                (r, Some(r + Duration::days(rng.range(2, 8))))
            }
            (Fate::Qualified, _) => {
                let r = today - Duration::days(rng.range(10, 25));
                (r, Some(r + Duration::days(rng.range(2, 6))))
            }
            (Fate::Rejected, _) => {
                let r = first_day + Duration::days(rng.range(40, 480));
                (r, Some(r + Duration::days(rng.range(3, 7))))
            }
            _ => (today - Duration::days(rng.range(1, 12)), None),
        };

        let mut story = Story {
            person,
            fate,
            lead,
            counsellor,
            referral_source: source,
            referred_on,
            decided_on,
            start,
            planned_months,
            exit,
            contact_consent: i % 7 != 3,
            image_consent: i % 5 == 0,
            image_withdrawn_on: None,
            diagnoses: Vec::new(),
            plan_on: None,
            reviews: Vec::new(),
            revise_on: None,
            goals_achieved: Vec::new(),
            action_done_on: None,
            outcomes: Vec::new(),
            follow_ups: Vec::new(),
            re_referred_on: None,
            anonymised_on: None,
            job_search: i % 3 != 2,
            computer: i % 2 == 0,
        };
        if let Some(s) = start {
            fill_programme(&mut rng, &mut story, i, k, s, last, &mut social_turn);
        }
        if let Fate::Exited(reason) = fate {
            match (reason, k) {
                ("moved", 0) | ("dropped_out", 0) => {
                    story.anonymised_on = Some(today - Duration::days(rng.range(3, 10)));
                }
                ("dropped_out", 1) => {
                    story.re_referred_on = Some(today - Duration::days(rng.range(3, 9)));
                }
                _ => {}
            }
            // No follow-up contact is recorded about an anonymised person.
            if let Some(a) = story.anonymised_on {
                story.follow_ups.retain(|f| f.contact_on < a);
            }
        }
        stories.push(story);
    }

    // One social outcome, the first in the club's history, is entered wrongly first: the demo
    // shows a retraction.
    if let Some(first) = stories
        .iter_mut()
        .flat_map(|s| s.outcomes.iter_mut())
        .filter(|o| OUTCOME_KINDS[8..].contains(&o.kind))
        .min_by_key(|o| o.on)
    {
        first.retract_first = true;
    }

    let sessions = sessions(&mut rng, &stories, first_day, today);
    let upcoming = (0..7)
        .map(|n| today + Duration::days(n))
        .flat_map(|day| {
            SERIES.iter().enumerate().filter_map(move |(s, series)| {
                (day.weekday() == series.weekday).then_some((s, day))
            })
        })
        .map(|(s, day)| SessionSpec {
            series: s,
            day,
            title: SERIES[s].titles[0],
            attendees: group(&stories, s, last),
            cancelled: false,
        })
        .collect();
    Club {
        first_day,
        today,
        stories,
        sessions,
        upcoming,
    }
}

fn person(
    rng: &mut Rng,
    i: usize,
    foreign: Option<(&'static str, &'static str, Sex, &'static str)>,
    groups: Vec<&'static str>,
    used: &mut std::collections::HashSet<String>,
    today: NaiveDate,
) -> Person {
    // Ages: mostly 25–60, a few young adults, one minor under guardianship, some 55+.
    let age = match i % 10 {
        _ if i == 31 => 17,
        0 => rng.range(56, 63),
        1 => rng.range(19, 29),
        _ => rng.range(26, 54),
    };
    let year = today.year() - age as i32;
    let birth_date =
        NaiveDate::from_ymd_opt(year, rng.range(1, 12) as u32, rng.range(1, 28) as u32)
            .unwrap_or(today);
    let (first_name, last_name, sex, id_document, pesel) = match foreign {
        Some((first, last, sex, country)) => {
            let kind = if i % 2 == 0 {
                "residence_card"
            } else {
                "passport"
            };
            let number = format!(
                "{}{:07}",
                if kind == "passport" { "FP" } else { "RC" },
                rng.range(0, 9_999_999)
            );
            (first, last, sex, Some((kind, number, country)), None)
        }
        None => {
            let sex = if rng.chance(55) {
                Sex::Male
            } else {
                Sex::Female
            };
            let (m, f) = *rng.pick(SURNAMES);
            let (first, last) = match sex {
                Sex::Male => (*rng.pick(MALE), m),
                Sex::Female => (*rng.pick(FEMALE), f),
            };
            let mut serial = rng.range(100, 990) as u16;
            let pesel = loop {
                match Pesel::generate(birth_date, serial, sex) {
                    Some(p) if used.insert(p.as_str().to_owned()) => {
                        break Some(p.as_str().to_owned())
                    }
                    Some(_) => serial = (serial + 1) % 1000,
                    None => break None,
                }
            };
            (first, last, sex, None, pesel)
        }
    };
    let disability =
        groups.contains(&"disability") || (groups.contains(&"mental_illness") && i % 2 == 0);
    let labour_status = if groups.contains(&"long_term_unemployed") {
        "long_term_unemployed"
    } else {
        *rng.pick(&[
            "unemployed",
            "unemployed",
            "long_term_unemployed",
            "inactive",
            "inactive",
            "employed",
        ])
    };
    let education = *rng.pick(&[
        "isced_0_2",
        "isced_0_2",
        "isced_3_4",
        "isced_3_4",
        "isced_5_8",
    ]);
    Person {
        first_name,
        last_name,
        sex,
        birth_date,
        pesel,
        id_document,
        education,
        labour_status,
        disability,
        risk_groups: groups,
        phone: format!("+48 500 {:03} {:03}", 100 + i, rng.range(100, 999)),
        street: format!("{} {}", rng.pick(STREETS), rng.range(1, 60)),
        under_guardianship: age < 18,
    }
}

/// Everything that happens during a programme that started on `s`.
fn fill_programme(
    rng: &mut Rng,
    story: &mut Story,
    i: usize,
    k: usize,
    s: NaiveDate,
    last: NaiveDate,
    social_turn: &mut usize,
) {
    let open_until = story.open_until(last);
    let within = |d: NaiveDate| d <= open_until && d <= last;
    let psych_or_counsellor = if i % 2 == 0 {
        Who::Psychologist
    } else {
        story.counsellor
    };
    let mut kinds: Vec<(i64, &'static str, Who)> = vec![
        (1, "social", story.lead),
        (3, "interests_questionnaire", story.counsellor),
        (5, "holland", psych_or_counsellor),
    ];
    if i % 3 == 0 {
        kinds.push((2, "general_survey", story.lead));
    }
    if i % 2 == 0 {
        kinds.push((6, "psychometric", Who::Psychologist));
    }
    if i % 3 == 1 {
        kinds.push((7, "psychological", Who::Psychologist));
    }
    if i % 2 == 1 {
        kinds.push((8, "vocational", story.counsellor));
    }
    kinds.sort_by_key(|(d, _, _)| *d);
    for (offset, kind, author) in kinds {
        let on = s + Duration::days(offset);
        if within(on) {
            let holland = (kind == "holland").then(|| {
                let mut scores = [0i64; 6];
                for score in &mut scores {
                    *score = rng.range(4, 44);
                }
                scores
            });
            story.diagnoses.push(Diagnosis {
                on,
                kind,
                author,
                holland,
            });
        }
    }

    let plan_on = s + Duration::days(12);
    if within(plan_on + Duration::days(1)) {
        story.plan_on = Some(plan_on);
        let accepted = plan_on + Duration::days(1);
        let mut review = accepted + Duration::days(90);
        while within(review) {
            story.reviews.push(review);
            review += Duration::days(90);
        }
        let revise = accepted + Duration::days(100);
        if i % 3 == 0 && within(revise) {
            story.revise_on = Some(revise);
        }
        let social_goal = s + Duration::days(60);
        if i % 2 == 0 && within(social_goal) {
            story.goals_achieved.push((0, social_goal));
        }
        if let Some(x) = story.exit {
            let vocational_goal = x - Duration::days(5);
            if matches!(story.fate, Fate::Exited("completed" | "employed"))
                && vocational_goal > accepted
            {
                story.goals_achieved.push((1, vocational_goal));
            }
        }
        let done = accepted + Duration::days(30);
        if i % 2 == 1 && within(done) {
            story.action_done_on = Some(done);
        }
    }

    // Vocational outcomes by the way the programme ended.
    let verify = |rng: &mut Rng, on: NaiveDate| {
        let v = on + Duration::days(rng.range(3, 10));
        (v <= last && i % 2 == 0).then_some(v)
    };
    if let (Fate::Exited(reason), Some(x)) = (story.fate, story.exit) {
        let job = match (reason, k) {
            ("employed", _) => Some((
                [
                    "employment_contract",
                    "civil_law_contract",
                    "self_employment",
                    "social_cooperative",
                    "supported_employment",
                    "employment_contract",
                ][k % 6],
                if k % 2 == 0 { x } else { x + Duration::days(3) },
            )),
            ("completed", _) => Some((
                [
                    "qualification",
                    "training_completed",
                    "education",
                    "qualification",
                    "training_completed",
                    "employment_contract",
                ][k % 6],
                if k == 5 {
                    x + Duration::days(10)
                } else {
                    x - Duration::days(10)
                },
            )),
            _ => None,
        };
        if let Some((kind, on)) = job {
            if on <= last {
                let verify_on = verify(rng, on);
                story.outcomes.push(Outcome {
                    on,
                    kind,
                    retract_first: false,
                    verify_on,
                });
            }
        }
    }
    // A social outcome for three in five, by the person's situation.
    if i % 5 <= 2 {
        let groups = &story.person.risk_groups;
        let kind = if groups.contains(&"alcohol_after_therapy")
            || groups.contains(&"drug_after_therapy")
        {
            "abstinence_maintained"
        } else if groups.contains(&"homeless_exit_programme") {
            "housing_secured"
        } else {
            *social_turn += 1;
            [
                "family_roles_restored",
                "debt_settled",
                "health_care_started",
                "other_social",
            ][*social_turn % 4]
        };
        let on = s + Duration::days(rng.range(45, 120));
        if within(on) {
            let verify_on = verify(rng, on);
            story.outcomes.push(Outcome {
                on,
                kind,
                retract_first: false,
                verify_on,
            });
        }
    }
    // Those on the computer course who stay long enough finish it.
    if story.computer && i % 4 == 2 {
        let on = s + Duration::days(110);
        if within(on) {
            story.outcomes.push(Outcome {
                on,
                kind: "training_completed",
                retract_first: false,
                verify_on: None,
            });
        }
    }
    story.outcomes.sort_by_key(|o| o.on);

    if story.image_consent {
        let w = s + Duration::days(40);
        if i % 10 == 0 && within(w) {
            story.image_withdrawn_on = Some(w);
        }
    }

    // Follow-ups after the exit (none after a death), contacted some days after they fall due;
    // those due in the last ten days are still open.
    if let (Fate::Exited(reason), Some(x)) = (story.fate, story.exit) {
        if reason != "death" {
            for months in [3u32, 6, 12] {
                let due = plus_months(x, months);
                let contact_on = due + Duration::days(rng.range(0, 6));
                if contact_on > last - Duration::days(10) {
                    continue;
                }
                let result = if !story.contact_consent || reason == "moved" {
                    "unreachable"
                } else {
                    match reason {
                        // The early leavers kept their jobs: the demo shows a whole year after.
                        "employed" if k < 3 => "employed",
                        "employed" => {
                            *rng.pick(&["employed", "employed", "employed", "not_employed"])
                        }
                        "completed" => {
                            *rng.pick(&["employed", "employed", "education", "not_employed"])
                        }
                        "health" => *rng.pick(&["not_employed", "declined"]),
                        "other" => "declined",
                        _ => *rng.pick(&["not_employed", "unreachable", "declined", "employed"]),
                    }
                };
                story.follow_ups.push(FollowUp {
                    months,
                    contact_on,
                    result,
                });
            }
        }
    }
}

/// Story indexes of the members of a series' group in the programme on `day`.
fn group(stories: &[Story], series: usize, day: NaiveDate) -> Vec<usize> {
    stories
        .iter()
        .enumerate()
        .filter(|(_, st)| st.attends_on(day))
        .filter(|(_, st)| match SERIES[series].activity {
            "job_search_workshop" => st.job_search,
            "computer_course" => st.computer,
            _ => true,
        })
        .map(|(n, _)| n)
        .collect()
}

fn sessions(
    rng: &mut Rng,
    stories: &[Story],
    first_day: NaiveDate,
    today: NaiveDate,
) -> Vec<SessionSpec> {
    let mut out = Vec::new();
    let mut held = vec![0usize; SERIES.len()];
    let mut day = first_day;
    while day < today {
        let holiday = HOLIDAYS.contains(&(day.month(), day.day()));
        for (s, series) in SERIES.iter().enumerate() {
            if day.weekday() != series.weekday || holiday {
                continue;
            }
            let attendees = group(stories, s, day);
            if attendees.is_empty() {
                continue;
            }
            let title = series.titles[held[s] % series.titles.len()];
            held[s] += 1;
            out.push(SessionSpec {
                series: s,
                day,
                title,
                attendees,
                cancelled: rng.chance(2),
            });
        }
        day += Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn club() -> Club {
        plan(1, NaiveDate::from_ymd_opt(2026, 12, 6).unwrap())
    }

    #[test]
    fn sixty_people_with_valid_distinct_pesels_and_some_without() {
        let c = club();
        assert_eq!(c.stories.len(), 60);
        let pesels: Vec<&String> = c
            .stories
            .iter()
            .filter_map(|s| s.person.pesel.as_ref())
            .collect();
        let distinct: HashSet<_> = pesels.iter().collect();
        assert_eq!(distinct.len(), pesels.len());
        for p in &pesels {
            assert!(Pesel::parse(p).is_ok(), "{p}");
        }
        let without = c
            .stories
            .iter()
            .filter(|s| s.person.pesel.is_none())
            .count();
        assert!(without >= 3, "{without}");
        assert!(c
            .stories
            .iter()
            .all(|s| s.person.pesel.is_some() || s.person.id_document.is_some()));
    }

    /// Every diagnosis kind, every outcome kind and an employed follow-up at 3, 6 and 12 months.
    fn covers_every_diagnosis_outcome_and_follow_up(c: &Club, context: &str) {
        let kinds: HashSet<&str> = c
            .stories
            .iter()
            .flat_map(|s| s.diagnoses.iter().map(|d| d.kind))
            .collect();
        assert_eq!(kinds.len(), DIAGNOSIS_KINDS.len(), "{context}: {kinds:?}");
        let outcomes: HashSet<&str> = c
            .stories
            .iter()
            .flat_map(|s| s.outcomes.iter().map(|o| o.kind))
            .collect();
        assert_eq!(
            outcomes.len(),
            OUTCOME_KINDS.len(),
            "{context}: {outcomes:?}"
        );
        for months in [3, 6, 12] {
            assert!(
                c.stories.iter().any(|s| s
                    .follow_ups
                    .iter()
                    .any(|f| f.months == months && f.result == "employed")),
                "{context}: an employed {months}-month follow-up"
            );
        }
    }

    #[test]
    fn every_group_reason_kind_and_outcome_appears() {
        let c = club();
        let groups: HashSet<&str> = c
            .stories
            .iter()
            .flat_map(|s| s.person.risk_groups.iter().copied())
            .collect();
        assert_eq!(groups.len(), RISK_GROUPS.len());
        let reasons: HashSet<&str> = c
            .stories
            .iter()
            .filter_map(|s| match s.fate {
                Fate::Exited(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(reasons.len(), EXIT_REASONS.len());
        covers_every_diagnosis_outcome_and_follow_up(&c, "seed 1");
    }

    #[test]
    fn everything_happens_before_today_and_in_order() {
        let c = club();
        for s in &c.stories {
            assert!(s.referred_on >= c.first_day && s.referred_on < c.today);
            if let Some(d) = s.decided_on {
                assert!(d > s.referred_on && d < c.today);
                if let Some(start) = s.start {
                    assert!(start > d);
                }
            }
            if let (Some(start), Some(x)) = (s.start, s.exit) {
                assert!(x > start && x < c.today, "{start} {x}");
            }
            for o in &s.outcomes {
                assert!(o.on < c.today && o.on > s.referred_on);
            }
            for f in &s.follow_ups {
                assert!(f.contact_on < c.today);
            }
        }
        assert!(c.sessions.len() > 200, "{}", c.sessions.len());
        assert!(c.sessions.iter().all(|s| s.day < c.today));
    }

    /// Whatever the day and seed, the club covers everything the reports break down by.
    #[test]
    fn every_seed_and_day_covers_every_kind() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let runs = (0..366)
            .map(|d| (1, start + Duration::days(d)))
            .chain((2..40).map(|seed| (seed, start)));
        for (seed, today) in runs {
            let c = plan(seed, today);
            covers_every_diagnosis_outcome_and_follow_up(&c, &format!("{seed} {today}"));
            let outcomes = || c.stories.iter().flat_map(|s| s.outcomes.iter());
            assert_eq!(outcomes().filter(|o| o.retract_first).count(), 1);
            assert!(outcomes().any(|o| o.verify_on.is_some()));
            assert!(c.stories.iter().any(|s| s.revise_on.is_some()));
            assert!(c.stories.iter().any(|s| s.person.pesel.is_none()));
            for s in &c.stories {
                if let (Some(start), Some(x)) = (s.start, s.exit) {
                    assert!(x > start && x < c.today, "{seed} {today}: {start} {x}");
                }
                assert!(s.follow_ups.iter().all(|f| f.contact_on < c.today));
                assert!(s
                    .outcomes
                    .iter()
                    .all(|o| o.on < c.today && o.on > s.referred_on));
            }
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_club() {
        let a = club();
        let b = club();
        let names = |c: &Club| -> Vec<String> {
            c.stories
                .iter()
                .map(|s| {
                    format!(
                        "{} {} {:?} {:?}",
                        s.person.first_name, s.person.last_name, s.person.pesel, s.start
                    )
                })
                .collect()
        };
        assert_eq!(names(&a), names(&b));
        let c = plan(2, a.today);
        assert_ne!(names(&a), names(&c));
    }
}
