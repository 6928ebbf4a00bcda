//! The Holland RIASEC code (domain brief §4.1, api.md §13.5).
//!
//! A Holland test scores six interest types — R realistic, I investigative, A artistic,
//! S social, E enterprising, C conventional — and is summarised by its three highest letters,
//! the code. Equal scores are ordered R, I, A, S, E, C, but that order only makes the code
//! reproducible and means nothing to a practitioner, so every other code the same scores could
//! equally have produced is reported too: the first three letters of any ordering that is
//! non-increasing by score. `tie` is true exactly when such an alternative exists, i.e. when
//! positions 1–2, 2–3 or 3–4 share a score; ties further down cannot reach the code.

use std::cmp::Reverse;

use serde::Serialize;
use utoipa::ToSchema;

/// The six RIASEC letters in the fixed tie-break order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
pub enum Letter {
    R,
    I,
    A,
    S,
    E,
    C,
}

impl Letter {
    /// Every letter, in the tie-break order (which is also the derived `Ord`).
    pub const ALL: [Letter; 6] = [Self::R, Self::I, Self::A, Self::S, Self::E, Self::C];

    pub fn as_char(self) -> char {
        b"RIASEC"[self as usize] as char
    }
}

/// Six validated scores (each 0..=100), indexed in R, I, A, S, E, C order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scores([u8; 6]);

impl Scores {
    pub const MAX: u8 = 100;

    /// None when any score is above MAX.
    pub fn new(values: [u8; 6]) -> Option<Scores> {
        values
            .iter()
            .all(|&v| v <= Self::MAX)
            .then_some(Scores(values))
    }

    pub fn get(&self, letter: Letter) -> u8 {
        self.0[letter as usize]
    }

    pub fn values(&self) -> [u8; 6] {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rank {
    pub letter: Letter,
    pub score: u8,
    /// Position in the ranking, 1 (highest) to 6.
    pub rank: u8,
}

/// What the server computes from the scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HollandProfile {
    /// Top three letters, e.g. "RSE".
    pub code: String,
    /// True when `alternatives` is non-empty.
    pub tie: bool,
    /// Every other code the tied scores allow, sorted in R, I, A, S, E, C order.
    pub alternatives: Vec<String>,
    /// All six letters, highest score first.
    pub ranking: Vec<Rank>,
}

pub fn profile(scores: Scores) -> HollandProfile {
    let mut order = Letter::ALL;
    // The sort is stable and ALL is in tie-break order, so equal scores keep R, I, A, S, E, C.
    order.sort_by_key(|&letter| Reverse(scores.get(letter)));
    let code = [order[0], order[1], order[2]];

    let mut candidates = Vec::new();
    collect_codes(scores, &[], &mut candidates);
    // Arrays of letters compare letter by letter using the tie-break order, as the API requires.
    candidates.sort_unstable();
    let alternatives: Vec<String> = candidates
        .into_iter()
        .filter(|candidate| *candidate != code)
        .map(|candidate| code_string(&candidate))
        .collect();

    HollandProfile {
        code: code_string(&code),
        tie: !alternatives.is_empty(),
        alternatives,
        ranking: (1u8..)
            .zip(order)
            .map(|(rank, letter)| Rank {
                letter,
                score: scores.get(letter),
                rank,
            })
            .collect(),
    }
}

/// Pushes every three-letter prefix of a non-increasing ordering that starts with `prefix`.
///
/// Such an ordering may continue with any unused letter holding the highest unused score, and
/// every such prefix extends to a full ordering, so this walks exactly the candidate codes,
/// each once (at most 6·5·4 of them), without visiting all 720 orderings.
fn collect_codes(scores: Scores, prefix: &[Letter], out: &mut Vec<[Letter; 3]>) {
    if let &[a, b, c] = prefix {
        out.push([a, b, c]);
        return;
    }
    let unused: Vec<Letter> = Letter::ALL
        .into_iter()
        .filter(|letter| !prefix.contains(letter))
        .collect();
    let top = unused.iter().map(|&letter| scores.get(letter)).max();
    for &letter in unused.iter().filter(|&&l| Some(scores.get(l)) == top) {
        let mut next = prefix.to_vec();
        next.push(letter);
        collect_codes(scores, &next, out);
    }
}

fn code_string(letters: &[Letter]) -> String {
    letters.iter().map(|letter| letter.as_char()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn of(values: [u8; 6]) -> HollandProfile {
        profile(Scores::new(values).unwrap())
    }

    fn letters(code: &str) -> Vec<Letter> {
        let letter_of = |c| Letter::ALL.into_iter().find(|l| l.as_char() == c).unwrap();
        code.chars().map(letter_of).collect()
    }

    /// The contract's definition taken literally, as an oracle independent of `collect_codes`.
    fn brute_force_codes(values: [u8; 6]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        // Each base-6 number below 6^6 whose six digits all differ is one ordering of the letters.
        for n in 0..6usize.pow(6) {
            let order: [usize; 6] = std::array::from_fn(|k| n / 6usize.pow(k as u32) % 6);
            let is_permutation = order.iter().fold(0u8, |seen, &i| seen | 1 << i) == 0b11_1111;
            if is_permutation && order.windows(2).all(|w| values[w[0]] >= values[w[1]]) {
                out.insert(
                    order[..3]
                        .iter()
                        .map(|&i| Letter::ALL[i].as_char())
                        .collect(),
                );
            }
        }
        out
    }

    fn candidate_set(p: &HollandProfile) -> BTreeSet<String> {
        p.alternatives
            .iter()
            .cloned()
            .chain([p.code.clone()])
            .collect()
    }

    #[test]
    fn the_domain_briefs_example() {
        let p = of([34, 12, 9, 22, 22, 18]);
        assert_eq!(p.code, "RSE");
        assert!(p.tie);
        assert_eq!(p.alternatives, ["RES"]);
    }

    #[test]
    fn no_tie_that_reaches_the_code_means_no_alternatives() {
        let p = of([1, 2, 3, 4, 5, 6]);
        assert_eq!(
            (p.code.as_str(), p.tie, p.alternatives.len()),
            ("CES", false, 0)
        );
        // E and C tie, but fifth and sixth place cannot enter the code.
        let p = of([50, 40, 30, 20, 10, 10]);
        assert_eq!(
            (p.code.as_str(), p.tie, p.alternatives.len()),
            ("RIA", false, 0)
        );
    }

    #[test]
    fn all_equal_scores_allow_every_other_code() {
        let p = of([7; 6]);
        assert_eq!(p.code, "RIA");
        assert!(p.tie);
        assert_eq!(p.alternatives.len(), 119);
        let keys: Vec<Vec<Letter>> = p.alternatives.iter().map(|c| letters(c)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(!p.alternatives.contains(&p.code));
    }

    #[test]
    fn a_tied_top_three_reorders_within_itself() {
        let p = of([10, 10, 10, 1, 1, 1]);
        assert_eq!(p.code, "RIA");
        assert_eq!(p.alternatives, ["RAI", "IRA", "IAR", "ARI", "AIR"]);
    }

    #[test]
    fn a_tie_across_the_boundary_swaps_in_the_fourth_letter() {
        let p = of([5, 4, 3, 3, 0, 0]);
        assert_eq!(p.code, "RIA");
        assert_eq!(p.alternatives, ["RIS"]);
    }

    #[test]
    fn ranking_lists_all_letters_highest_first_with_ties_in_riasec_order() {
        let p = of([34, 12, 9, 22, 22, 18]);
        let got: Vec<String> = (p.ranking.iter())
            .map(|r| format!("{}:{}:{}", r.rank, r.letter.as_char(), r.score))
            .collect();
        assert_eq!(got.join(" "), "1:R:34 2:S:22 3:E:22 4:C:18 5:I:12 6:A:9");
    }

    #[test]
    fn scores_above_the_maximum_are_rejected() {
        assert!(Scores::new([100, 0, 0, 0, 0, 0]).is_some());
        assert!(Scores::new([0, 0, 0, 0, 0, 101]).is_none());
    }

    #[test]
    fn letters_serialize_as_the_capital_letter() {
        let json = serde_json::to_value(of([34, 12, 9, 22, 22, 18])).unwrap();
        assert_eq!(
            json["ranking"][0],
            serde_json::json!({"letter": "R", "score": 34, "rank": 1})
        );
        assert_eq!(json["alternatives"], serde_json::json!(["RES"]));
    }

    /// Uniform scores rarely tie, so half the cases draw from a tiny range where ties abound.
    fn any_values() -> impl Strategy<Value = [u8; 6]> {
        prop_oneof![
            prop::array::uniform6(0u8..=100),
            prop::array::uniform6(0u8..=3)
        ]
    }

    proptest! {
        #[test]
        fn codes_are_well_formed(values in any_values()) {
            let p = of(values);
            for code in candidate_set(&p) {
                let ls = letters(&code);
                prop_assert_eq!(ls.len(), 3);
                prop_assert_eq!(ls.iter().collect::<BTreeSet<_>>().len(), 3, "{}", code);
            }
            prop_assert!(!p.alternatives.contains(&p.code));
            let keys: Vec<Vec<Letter>> = p.alternatives.iter().map(|c| letters(c)).collect();
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted and distinct: {:?}", p.alternatives);
            prop_assert_eq!(p.tie, !p.alternatives.is_empty());
        }

        #[test]
        fn alternatives_and_tie_match_the_definitions(values in any_values()) {
            let p = of(values);
            let mut oracle = brute_force_codes(values);
            prop_assert!(oracle.remove(&p.code));
            prop_assert_eq!(p.alternatives.iter().cloned().collect::<BTreeSet<_>>(), oracle);
            let s: Vec<u8> = p.ranking.iter().map(|r| r.score).collect();
            prop_assert_eq!(p.tie, s[0] == s[1] || s[1] == s[2] || s[2] == s[3]);
        }

        #[test]
        fn the_code_holds_the_three_highest_scores(values in any_values()) {
            let p = of(values);
            let code = letters(&p.code);
            let lowest_in = code.iter().map(|&l| values[l as usize]).min().unwrap();
            for l in Letter::ALL.into_iter().filter(|l| !code.contains(l)) {
                prop_assert!(values[l as usize] <= lowest_in);
            }
        }

        /// Which letters hold equal scores cannot matter, only the scores themselves.
        #[test]
        fn swapping_equal_scores_changes_nothing(values in any_values(), i in 0usize..6, j in 0usize..6) {
            let mut swapped = values;
            swapped.swap(i, j);
            if values[i] == values[j] {
                prop_assert_eq!(of(swapped), of(values));
            }
        }

        /// The candidate codes depend on scores alone: the tie-break order only picks which of
        /// them is `code`. So swapping two letters' scores swaps those letters in every candidate.
        #[test]
        fn candidates_follow_a_relabelling(values in any_values(), i in 0usize..6, j in 0usize..6) {
            let mut swapped = values;
            swapped.swap(i, j);
            let (x, y) = (Letter::ALL[i].as_char(), Letter::ALL[j].as_char());
            let rename = |code: &String| -> String {
                code.chars().map(|c| if c == x { y } else if c == y { x } else { c }).collect()
            };
            let relabelled: BTreeSet<String> = candidate_set(&of(values)).iter().map(rename).collect();
            prop_assert_eq!(candidate_set(&of(swapped)), relabelled);
        }

        #[test]
        fn raising_a_score_never_lowers_its_rank(values in any_values(), i in 0usize..6, by in 0u8..=100) {
            let rank_of = |p: &HollandProfile| p.ranking.iter().find(|r| r.letter == Letter::ALL[i]).unwrap().rank;
            let mut raised = values;
            raised[i] = raised[i].saturating_add(by).min(Scores::MAX);
            prop_assert!(rank_of(&of(raised)) <= rank_of(&of(values)));
        }
    }
}
