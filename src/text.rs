//! Text folding for search and sorting that behaves the same on both databases.
//!
//! SQLite's `lower()` and `LIKE` are ASCII-only and `unaccent` is PostgreSQL-only, so search keys
//! are computed here and stored beside the original text.

/// Lowercases and folds Polish letters and other common Latin diacritics to ASCII
/// (`Łucja Żółć` → `lucja zolc`), collapsing runs of white space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        match fold_char(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'ą' | 'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' => "a",
        'ć' | 'ç' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' => "d",
        'ę' | 'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ě' => "e",
        'ğ' | 'ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ķ' => "k",
        'ł' | 'ľ' | 'ĺ' | 'ļ' => "l",
        'ń' | 'ñ' | 'ň' | 'ņ' => "n",
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'ř' | 'ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` prefix pattern.
pub fn like_prefix(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 1);
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_polish_letters_and_case() {
        assert_eq!(fold("Łucja ŻÓŁĆ"), "lucja zolc");
        assert_eq!(fold("Ąę Ćń Óś Źż"), "ae cn os zz");
        assert_eq!(fold("  Anna   Maria  "), "anna maria");
        assert_eq!(fold("Müller-Lüdenscheidt"), "muller-ludenscheidt");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("a_b%"), "a\\_b\\%%");
    }
}
