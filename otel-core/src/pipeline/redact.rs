//! Keeping secrets out of what the pipeline prints.

/// `text` with the credentials of every URL in it (`scheme://user:password@host`) replaced by
/// `<redacted>`, so endpoints can be logged, announced and shown in `Debug` output.
///
/// ```
/// assert_eq!(
///     otel_core::export::redact_urls("export to https://user:s3cret@collector:4318/v1/metrics failed"),
///     "export to https://<redacted>@collector:4318/v1/metrics failed",
/// );
/// ```
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first `/`, `?`, `#` or whitespace; credentials end at its last `@`.
        let end = after.find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace()).unwrap_or(after.len());
        match after[..end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("<redacted>");
                rest = &after[userinfo_end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_every_url_and_nothing_else_changes() {
        let cases = [
            ("http://user:SECRET@collector:4318", "http://<redacted>@collector:4318"),
            ("http://SECRET@c:1/p?q=a@b", "http://<redacted>@c:1/p?q=a@b"),
            ("a https://u:p@h/x and grpc://k:v@g:4317 b", "a https://<redacted>@h/x and grpc://<redacted>@g:4317 b"),
            ("http://collector:4318/v1/metrics", "http://collector:4318/v1/metrics"),
            ("mail me@example.com", "mail me@example.com"),
            ("http://u:p%40x@h", "http://<redacted>@h"),
            ("://@", "://<redacted>@"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_urls(input), expected, "{input}");
        }
    }
}
