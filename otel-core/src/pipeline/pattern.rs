//! The wildcard patterns of the configuration model (`*` any run of characters, `?` exactly
//! one), for include/exclude lists and view selectors.

/// Whether `value` matches `pattern`, where `*` matches any run of characters (none included)
/// and `?` exactly one; every other character matches itself.
///
/// ```
/// assert!(otel_core::export::wildcard_match("service*", "service.name"));
/// assert!(otel_core::export::wildcard_match("k8s.?od.name", "k8s.pod.name"));
/// assert!(!otel_core::export::wildcard_match("service.?", "service.name"));
/// ```
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    // The last `*` seen and the value position it currently stands for, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((star_at, matched_to)) = star {
            pi = star_at + 1;
            vi = matched_to + 1;
            star = Some((star_at, matched_to + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn stars_and_question_marks() {
        for (pattern, value, expected) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*.name", "service.name", true),
            ("service.attr1", "service.attr1", true),
            ("service.attr?", "service.attr12", false),
            ("**x", "abx", true),
            ("a?c", "abc", true),
            ("ü*", "über", true),
        ] {
            assert_eq!(wildcard_match(pattern, value), expected, "{pattern} ~ {value}");
        }
    }
}
