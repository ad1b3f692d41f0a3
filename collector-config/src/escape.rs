//! User strings (job names, catalog descriptions and units) written into a rendered file, each
//! escaped for the context it lands in: PromQL string literals and Markdown here, YAML in
//! [`yaml::quoted`](crate::yaml::quoted), JSON by `serde_json`. What no context can hold (control
//! characters) is refused before anything is rendered.

/// Refuses `value` (described as `what`) when it holds a control character or is empty.
pub(crate) fn representable(what: &str, value: &str) -> Result<(), crate::OpsError> {
    if value.is_empty() {
        return Err(crate::OpsError::Input(format!("{what} is empty")));
    }
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(crate::OpsError::Input(format!(
            "{what} {value:?} holds the control character {c:?}, which rule files, queries and dashboards cannot carry; remove it"
        ))),
        None => Ok(()),
    }
}

/// `value` as a PromQL double-quoted string literal: `\` and `"` escaped, so it is one label
/// value and never more query.
pub(crate) fn promql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` as Markdown prose (a table cell, a sentence): every character Markdown or HTML
/// would read as markup is escaped, line breaks become spaces.
pub(crate) fn markdown_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '|' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `value` as an inline code span: fenced by one more backtick than its longest run of them.
pub(crate) fn markdown_code(value: &str) -> String {
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", value.replace(['\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_context_keeps_a_string_one_value() {
        assert_eq!(promql_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(markdown_text("a|b <x> *y*"), r"a\|b &lt;x&gt; \*y\*");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert!(representable("job", "a\nb").is_err() && representable("job", "").is_err() && representable("job", "ü .|").is_ok());
    }
}
