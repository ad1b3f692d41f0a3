//! `#[track_duration]` and `#[track_errors]`: record a function's duration and its errors
//! through the installed otel-pipeline facade. Use them through `otel-instrumentation`, which
//! re-exports them.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, LitStr, ReturnType, Token, Type};

/// Records the function's duration in seconds into a histogram (or quantile timer) when it
/// returns, returns early, fails with `?`, panics, or (async) when its future is dropped.
///
/// `#[track_duration("request_duration", labels(endpoint = "/query"))]`; add `outcome` on a
/// function returning `Result` to label `status` (success/failure) and `error.type`.
#[proc_macro_attribute]
pub fn track_duration(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Tracker::Duration, args, item)
}

/// Counts the errors a `Result`-returning function returns into a counter (default
/// `error_count`), labelled `error_type` (the error's type name) and `function`, plus any
/// `labels(...)`. A panic counts as `error_type="panic"`.
///
/// `#[track_errors(labels(endpoint = "/query"))]` or `#[track_errors("task.errors")]`.
#[proc_macro_attribute]
pub fn track_errors(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Tracker::Errors, args, item)
}

#[derive(Clone, Copy, PartialEq)]
enum Tracker {
    Duration,
    Errors,
}

impl Tracker {
    fn attribute(self) -> &'static str {
        match self {
            Tracker::Duration => "#[track_duration]",
            Tracker::Errors => "#[track_errors]",
        }
    }
}

struct Args {
    name: Option<LitStr>,
    labels: Vec<(LitStr, Expr)>,
    outcome: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args { name: None, labels: Vec::new(), outcome: false };
        while !input.is_empty() {
            if input.peek(LitStr) {
                args.name = Some(input.parse()?);
            } else {
                let word: Ident = input.parse()?;
                match word.to_string().as_str() {
                    "labels" => {
                        let content;
                        syn::parenthesized!(content in input);
                        while !content.is_empty() {
                            let key = if content.peek(LitStr) {
                                content.parse::<LitStr>()?
                            } else {
                                let ident: Ident = content.parse()?;
                                LitStr::new(&ident.to_string(), ident.span())
                            };
                            content.parse::<Token![=]>()?;
                            let value: Expr = content.parse()?;
                            args.labels.push((key, value));
                            if !content.is_empty() {
                                content.parse::<Token![,]>()?;
                            }
                        }
                    }
                    "outcome" => args.outcome = true,
                    other => {
                        return Err(syn::Error::new(
                            word.span(),
                            format!("unknown argument `{other}`: write a metric name (\"request_duration\"), `labels(key = \"value\", ...)` or `outcome`"),
                        ))
                    }
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

fn expand(tracker: Tracker, args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse::<Args>(args) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error().into(),
    };
    let function = match syn::parse::<ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let message = format!("{} goes on a function (sync or async)", tracker.attribute());
            let span = Tokens::from(item).span();
            return syn::Error::new(span, message).to_compile_error().into();
        }
    };
    match generate(tracker, args, function) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Whether a return type is a `Result` (any path ending in a `...Result` type, e.g.
/// `io::Result<T>` or an alias).
fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("Result")),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

fn generate(tracker: Tracker, args: Args, mut function: ItemFn) -> syn::Result<Tokens> {
    let signature = &function.sig;
    let is_result = returns_result(&signature.output);
    let name = match (args.name.clone(), tracker) {
        (Some(name), _) => name,
        (None, Tracker::Errors) => LitStr::new("error_count", Span::call_site()),
        (None, Tracker::Duration) => {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[track_duration] needs the histogram's name: #[track_duration(\"request_duration\")]",
            ))
        }
    };
    if (tracker == Tracker::Errors || args.outcome) && !is_result {
        let what = if tracker == Tracker::Errors { "#[track_errors]" } else { "#[track_duration(outcome)]" };
        let span = match &signature.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => signature.ident.span(),
        };
        return Err(syn::Error::new(
            span,
            format!("{what} needs a function that returns `Result<_, _>`; to time a function that cannot fail, use #[track_duration(\"name\")] without `outcome`"),
        ));
    }
    if matches!(&signature.output, ReturnType::Type(_, ty) if matches!(ty.as_ref(), Type::ImplTrait(_))) && is_result {
        return Err(syn::Error::new(signature.output.span(), "return an explicit `Result<_, _>` type, not `impl Trait`"));
    }

    let private = quote!(::otel_instrumentation::__private);
    let keys = args.labels.iter().map(|(k, _)| k);
    let values = args.labels.iter().map(|(_, v)| v);
    let labels = quote!([#( #private::KeyValue::new(#keys, #values) ),*]);
    let function_name = signature.ident.to_string();
    let body = &function.block;
    let output = match &signature.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    // Runs the original body and yields its value (async bodies are awaited in place).
    let run = if signature.asyncness.is_some() { quote!(async move #body.await) } else { quote!((move || -> #output #body)()) };

    let new_body = match (tracker, args.outcome) {
        (Tracker::Duration, false) => quote_spanned! {body.span()=> {
            let __otel_guard = #private::metrics().track_duration(#name, &#labels);
            #body
        }},
        (Tracker::Duration, true) => quote_spanned! {body.span()=> {
            let __otel_guard = #private::metrics().track_outcome(#name, &#labels);
            let __otel_result: #output = #run;
            __otel_guard.result(&__otel_result);
            __otel_result
        }},
        (Tracker::Errors, _) => quote_spanned! {body.span()=> {
            let __otel_labels = #labels;
            let __otel_errors = #private::ErrorCounter::new(#name, #function_name, &__otel_labels);
            let __otel_result: #output = #run;
            __otel_errors.finish(&__otel_result);
            __otel_result
        }},
    };
    *function.block = syn::parse2(new_body)?;
    Ok(quote!(#function))
}
