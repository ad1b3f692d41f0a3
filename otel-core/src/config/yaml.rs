//! A configuration file's YAML → a JSON value, with substitution applied to scalar values (never
//! to keys), node types resolved afterwards by the YAML 1.2 core schema, and the line of every
//! node kept by its path, so later errors can say where.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::Env;

/// The document and the line (1-based) of each node, keyed by its path as errors spell it
/// (`meter_provider.readers[0].pull`).
pub(crate) struct Document {
    pub(crate) value: Value,
    pub(crate) lines: HashMap<String, usize>,
}

/// A problem at a line.
pub(crate) struct Located {
    pub(crate) line: usize,
    pub(crate) message: String,
}

pub(crate) fn read(text: &str, env: &Env) -> Result<Document, Located> {
    let mut reader = Reader { events: Parser::new_from_str(text), env, anchors: HashMap::new(), lines: HashMap::new(), nodes: 0 };
    let mut value = Value::Null;
    let mut documents = 0;
    loop {
        match reader.next()? {
            (Event::StreamStart | Event::DocumentEnd, _) => {}
            (Event::DocumentStart(..), span) => {
                documents += 1;
                if documents > 1 {
                    return Err(Located { line: span.start.line(), message: "a configuration file holds one YAML document".into() });
                }
                let (event, span) = reader.next()?;
                value = reader.node(event, span, "")?;
            }
            (Event::StreamEnd, _) => break,
            (_, span) => return Err(Located { line: span.start.line(), message: "unexpected YAML content".into() }),
        }
    }
    Ok(Document { value, lines: reader.lines })
}

/// How many values a document may hold once its aliases are expanded: far more than any
/// configuration, far less than an alias bomb (nested aliases that grow exponentially).
const MAX_NODES: usize = 100_000;

struct Reader<'a, 'e> {
    events: Parser<'a, granit_parser::StrInput<'a>>,
    env: &'e Env,
    /// Anchored values with how many values each holds.
    anchors: HashMap<usize, (Value, usize)>,
    lines: HashMap<String, usize>,
    /// Values made so far, aliases counted as what they expand to.
    nodes: usize,
}

impl<'a> Reader<'a, '_> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Located> {
        match self.events.next() {
            Some(Ok(next)) => Ok(next),
            Some(Err(e)) => Err(Located { line: e.marker().line(), message: format!("not valid YAML: {}", e.info()) }),
            None => Err(Located { line: 0, message: "the YAML ends early".into() }),
        }
    }

    /// Counts `n` more values; past [`MAX_NODES`] the document is refused at `line`.
    fn count(&mut self, n: usize, line: usize) -> Result<(), Located> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Located {
                line,
                message: format!("the document expands to more than {MAX_NODES} values (aliases repeating aliases?); write it out plainly"),
            });
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, path: &str) -> Result<Value, Located> {
        let line = span.start.line();
        let first = self.nodes;
        self.lines.entry(path.to_owned()).or_insert(line);
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = style != ScalarStyle::Plain || tag.is_some_and(|t| t.suffix() == "str");
                let text = crate::config::substitute::substitute(&text, self.env).map_err(|reference| Located {
                    line,
                    message: format!("{reference} is not a valid substitution (use `${{NAME}}` or `${{NAME:-default}}`, `$$` for `$`)"),
                })?;
                let value = if quoted { Value::String(text) } else { core_schema(&text).map_err(|message| Located { line, message })? };
                (value, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (event, span) => {
                            let child = format!("{path}[{}]", items.len());
                            items.push(self.node(event, span, &child)?);
                        }
                    }
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                let mut map = Map::new();
                loop {
                    let (key, key_span) = match self.next()? {
                        (Event::MappingEnd, _) => break,
                        (Event::Scalar(key, ..), span) => (key.into_owned(), span),
                        (_, span) => return Err(Located { line: span.start.line(), message: "mapping keys must be plain strings".into() }),
                    };
                    if map.contains_key(&key) {
                        return Err(Located { line: key_span.start.line(), message: format!("key `{key}` appears twice") });
                    }
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    self.lines.insert(child.clone(), key_span.start.line());
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, &child)?;
                    map.insert(key, value);
                }
                (Value::Object(map), anchor)
            }
            Event::Alias(id) => {
                let size = self
                    .anchors
                    .get(&id)
                    .map(|(_, size)| *size)
                    .ok_or_else(|| Located { line, message: "an alias to an unknown anchor".into() })?;
                // Counted before the copy is made, so a bomb is refused before it takes memory.
                self.count(size, line)?;
                let value = self.anchors.get(&id).map(|(value, _)| value.clone()).unwrap_or_default();
                return Ok(value);
            }
            _ => return Err(Located { line, message: "unexpected YAML content".into() }),
        };
        self.count(1, line)?;
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), self.nodes - first));
        }
        Ok(value)
    }
}

/// A plain scalar's value under the YAML 1.2 core schema.
fn core_schema(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1i128, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let integer = if let Some(hex) = text.strip_prefix("0x") {
        Some(i128::from_str_radix(hex, 16).ok().filter(|_| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())))
    } else if let Some(octal) = text.strip_prefix("0o") {
        Some(i128::from_str_radix(octal, 8).ok().filter(|_| !octal.is_empty() && octal.chars().all(|c| ('0'..='7').contains(&c))))
    } else if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(digits.parse::<i128>().ok().map(|n| sign * n))
    } else {
        None
    };
    match integer {
        Some(Some(n)) => {
            let number = u64::try_from(n).map(Number::from).or_else(|_| i64::try_from(n).map(Number::from));
            return number.map(Value::Number).map_err(|_| format!("the integer {text} is out of range"));
        }
        Some(None) => return Ok(Value::String(text.to_owned())),
        None => {}
    }
    if is_core_float(digits) {
        let parsed: f64 = text.parse().map_err(|_| format!("{text} is not a number"))?;
        return Number::from_f64(parsed).map(Value::Number).ok_or_else(|| format!("{text} is not a finite number"));
    }
    if matches!(digits, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Err(format!("{text} is not a finite number"));
    }
    Ok(Value::String(text.to_owned()))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (the sign already taken off).
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match fraction {
        None => !whole.is_empty() && digits(whole),
        Some(f) => digits(whole) && digits(f) && !(whole.is_empty() && f.is_empty()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(text: &str, env: &Env) -> Value {
        match read(text, env) {
            Ok(doc) => doc.value,
            Err(e) => panic!("line {}: {}", e.line, e.message),
        }
    }

    #[test]
    fn types_are_resolved_after_substitution_and_quotes_keep_strings() {
        let env = Env::from_pairs([("B", "true"), ("I", "1"), ("F", "1.1"), ("H", "0xdeadbeef"), ("M", "value\nkey: value")]);
        let doc = read_ok("b: ${B}\ni: ${I}\nf: ${F}\nh: ${H}\nqi: \"${I}\"\nm: ${M}\nu: ${UNSET}\n${I}: k\n", &env);
        assert_eq!(doc["b"], Value::Bool(true));
        assert_eq!(doc["i"], serde_json::json!(1));
        assert_eq!(doc["f"], serde_json::json!(1.1));
        assert_eq!(doc["h"], serde_json::json!(3735928559u64));
        assert_eq!(doc["qi"], serde_json::json!("1"));
        assert_eq!(doc["m"], serde_json::json!("value\nkey: value"));
        assert_eq!(doc["u"], Value::Null);
        assert_eq!(doc["${I}"], serde_json::json!("k"));
    }

    #[test]
    fn core_schema_scalars() {
        for (text, expected) in [
            ("~", Value::Null),
            ("-12", serde_json::json!(-12)),
            ("0o17", serde_json::json!(15)),
            ("1e3", serde_json::json!(1000.0)),
            (".5", serde_json::json!(0.5)),
            ("localhost", serde_json::json!("localhost")),
            ("127.0.0.1", serde_json::json!("127.0.0.1")),
            ("yes", serde_json::json!("yes")),
            ("0xZZ", serde_json::json!("0xZZ")),
        ] {
            assert_eq!(core_schema(text).unwrap(), expected, "{text}");
        }
        assert!(core_schema(".inf").is_err() && core_schema("99999999999999999999999").is_err());
    }

    #[test]
    fn lines_are_kept_by_path_and_errors_name_their_line() {
        let doc = read("a:\n  list:\n    - x: 1\n    - y: 2\n", &Env::empty()).ok().unwrap();
        assert_eq!(doc.lines["a.list[1].y"], 4);
        let err = read("a: 1\nb: ${1BAD}\n", &Env::empty()).err().unwrap();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("${1BAD}"), "{}", err.message);
        assert_eq!(read("a: 1\na: 2\n", &Env::empty()).err().unwrap().line, 2);
    }

    #[test]
    fn anchors_and_aliases_copy_the_node() {
        let doc = read_ok("base: &b {x: 1}\nother: *b\n", &Env::empty());
        assert_eq!(doc["other"], serde_json::json!({"x": 1}));
    }
}
