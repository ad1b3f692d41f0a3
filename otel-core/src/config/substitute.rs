//! Environment variable substitution in scalar values, as the configuration data model defines
//! it: `${NAME}`, `${env:NAME}`, `${NAME:-default}`, `$$` for a literal `$`, no recursion.

use crate::Env;

/// `value` with every reference replaced; `Err` holds the invalid reference (`${...}` that is not
/// a valid one), which fails the whole file.
pub(crate) fn substitute(value: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    // `$$` splits the input first; references are only looked for between escapes.
    let mut pieces = value.split("$$").peekable();
    while let Some(piece) = pieces.next() {
        substitute_piece(piece, env, &mut out)?;
        if pieces.peek().is_some() {
            out.push('$');
        }
    }
    Ok(out)
}

fn substitute_piece(mut rest: &str, env: &Env, out: &mut String) -> Result<(), String> {
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(());
        };
        let reference = &after[..end];
        match parse_reference(reference) {
            Some((name, default)) => out.push_str(&resolve(env, name, default)),
            // `${}` is neither a valid nor an invalid reference: it stays as written.
            None if reference.is_empty() => out.push_str("${}"),
            None => return Err(format!("${{{reference}}}")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// `[env:]NAME[:-DEFAULT]` → (NAME, DEFAULT).
fn parse_reference(reference: &str) -> Option<(&str, Option<&str>)> {
    let body = reference.strip_prefix("env:").unwrap_or(reference);
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let valid_name = first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let valid_default = default.is_none_or(|d| d.chars().all(|c| c == ' ' || c == '\t' || ('!'..='~').contains(&c)));
    (valid_name && valid_default).then_some((name, default))
}

/// The variable's value as set (not trimmed); the default when it is unset or empty.
fn resolve(env: &Env, name: &str, default: Option<&str>) -> String {
    match env.raw(name).filter(|v| !v.is_empty()) {
        Some(value) => value,
        None => default.unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's table (configuration data model, "Environment variable
    /// substitution"), input → output after substitution.
    #[test]
    fn the_specification_examples() {
        let env = Env::from_pairs([
            ("STRING_VALUE", "value"),
            ("BOOL_VALUE", "true"),
            ("INT_VALUE", "1"),
            ("FLOAT_VALUE", "1.1"),
            ("HEX_VALUE", "0xdeadbeef"),
            ("INVALID_MAP_VALUE", "value\nkey:value"),
            ("DO_NOT_REPLACE_ME", "Never use this value"),
            ("REPLACE_ME", "${DO_NOT_REPLACE_ME}"),
            ("VALUE_WITH_ESCAPE", "value$$"),
        ]);
        let cases = [
            ("${STRING_VALUE}", "value"),
            ("${BOOL_VALUE}", "true"),
            ("${INT_VALUE}", "1"),
            ("${FLOAT_VALUE}", "1.1"),
            ("${HEX_VALUE}", "0xdeadbeef"),
            ("${env:STRING_VALUE}", "value"),
            ("${INVALID_MAP_VALUE}", "value\nkey:value"),
            ("foo ${STRING_VALUE} ${FLOAT_VALUE}", "foo value 1.1"),
            ("${UNDEFINED_KEY}", ""),
            ("${UNDEFINED_KEY:-fallback}", "fallback"),
            ("${REPLACE_ME}", "${DO_NOT_REPLACE_ME}"),
            ("${UNDEFINED_KEY:-${STRING_VALUE}}", "${STRING_VALUE}"),
            ("$${STRING_VALUE}", "${STRING_VALUE}"),
            ("$$${STRING_VALUE}", "$value"),
            ("$$$${STRING_VALUE}", "$${STRING_VALUE}"),
            ("$${STRING_VALUE:-fallback}", "${STRING_VALUE:-fallback}"),
            ("$${STRING_VALUE:-${STRING_VALUE}}", "${STRING_VALUE:-value}"),
            ("${UNDEFINED_KEY:-$${UNDEFINED_KEY}}", "${UNDEFINED_KEY:-${UNDEFINED_KEY}}"),
            ("${VALUE_WITH_ESCAPE}", "value$$"),
            ("a $$ b", "a $ b"),
            ("a $ b", "a $ b"),
        ];
        for (input, expected) in cases {
            assert_eq!(substitute(input, &env).as_deref(), Ok(expected), "{input}");
        }
        for invalid in ["${STRING_VALUE:?error}", "${1API_KEY}", "${API_$KEY}", "x ${a b} y"] {
            assert!(substitute(invalid, &env).is_err(), "{invalid}");
        }
    }

    #[test]
    fn an_empty_variable_takes_the_default() {
        let env = Env::from_pairs([("EMPTY", "")]);
        assert_eq!(substitute("${EMPTY:-9464}", &env).as_deref(), Ok("9464"));
    }
}
